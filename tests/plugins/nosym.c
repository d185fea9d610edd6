/* nosym.c -- a shared object that is no reporter: no pw_reporter. */
int nosym_answer(void);

int nosym_answer(void)
{
    return 42;
}
