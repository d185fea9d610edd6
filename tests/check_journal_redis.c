#include "testutil.h"
static Suite *journal_redis_suite(void)
{
    return suite_create("journal_redis");
}

int main(void)
{
    return pw_run_suite(journal_redis_suite());
}
