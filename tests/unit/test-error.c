/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The core's errors (daemon/core/error.c) and the one map from their kinds to the API's names
 * (daemon/bus/bus-error.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/bus/bus-error.h"
#include "daemon/core/error.h"

static void test_kinds(void **state) {
        for (int k = 0; k < _ERROR_KIND_MAX; k++) {
                const char *s = error_kind_to_string((ErrorKind) k);
                assert_non_null(s);
                assert_int_equal(error_kind_from_string(s), k);
                /* Every kind has a name, and the errno it stands for maps back to a name. */
                assert_non_null(bus_error_name_from_kind((ErrorKind) k));
                assert_true(error_kind_to_errno((ErrorKind) k) < 0);
        }
        assert_null(error_kind_to_string(_ERROR_KIND_MAX));
        assert_int_equal(error_kind_from_errno(-ESRCH), ERROR_NO_SUCH_PROCESS);
        assert_int_equal(error_kind_from_errno(EACCES), ERROR_ACCESS_DENIED);
        assert_int_equal(error_kind_from_errno(-ENOSPC), ERROR_BUDGET_EXCEEDED);
        assert_int_equal(error_kind_from_errno(-EUSERS), ERROR_LIMIT_EXCEEDED);
        assert_int_equal(error_kind_from_errno(-EOPNOTSUPP), ERROR_UNSUPPORTED);
        assert_int_equal(error_kind_from_errno(-EBADMSG), ERROR_INVALID_POLICY);
        assert_int_equal(error_kind_from_errno(-ENOEXEC), ERROR_INVALID_ARGUMENT);
        assert_int_equal(error_kind_from_errno(-EIO), ERROR_LOCK_FAILED);
        assert_string_equal(bus_error_name_from_kind(ERROR_BUDGET_EXCEEDED),
                            "org.mlockd1.Error.BudgetExceeded");
        assert_string_equal(bus_error_name_from_kind(ERROR_NO_MATCHING_POLICY),
                            "org.mlockd1.Error.NoMatchingPolicy");
        assert_string_equal(bus_error_name_from_kind(_ERROR_KIND_INVALID),
                            "org.mlockd1.Error.LockFailed");
}

static void test_set_first_wins(void **state) {
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;

        assert_false(core_error_is_set(&e));
        assert_int_equal(core_error_setf(&e, ERROR_ACCESS_DENIED, "no %s", "way"), -EACCES);
        assert_true(core_error_is_set(&e));
        /* The first, most specific error stays. */
        assert_int_equal(core_error_setf_errno(&e, -ENOSPC, "later"), -ENOSPC);
        assert_int_equal(e.kind, ERROR_ACCESS_DENIED);
        assert_string_equal(e.message, "no way");
        /* NULL: only the return value. */
        assert_int_equal(core_error_setf(NULL, ERROR_UNSUPPORTED, "x"), -EOPNOTSUPP);
        assert_int_equal(core_error_setf_errno(NULL, 0, "x"), -EIO);
}

static void test_verdict(void **state) {
        _cleanup_(core_error_done) CoreError a = CORE_ERROR_NULL, b = CORE_ERROR_NULL,
                                             c = CORE_ERROR_NULL;
        PolicyDecision d = { .verdict = VERDICT_DENY_BUDGET, .message = (char *) "needs 4G" };

        assert_int_equal(core_error_set_verdict(&a, &d), -ENOSPC);
        assert_int_equal(a.kind, ERROR_BUDGET_EXCEEDED);
        assert_string_equal(a.message, "needs 4G");
        d.verdict = VERDICT_DENY_NO_MATCH;
        (void) core_error_set_verdict(&b, &d);
        assert_int_equal(b.kind, ERROR_NO_MATCHING_POLICY);
        d.verdict = VERDICT_DENY_ACCESS;
        (void) core_error_set_verdict(&c, &d);
        assert_int_equal(c.kind, ERROR_ACCESS_DENIED);
}

static void test_to_bus(void **state) {
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error be = SD_BUS_ERROR_NULL, be2 = SD_BUS_ERROR_NULL;

        (void) core_error_setf(&e, ERROR_LIMIT_EXCEEDED, "too many");
        assert_int_equal(bus_error_from_core(&be, &e, -EUSERS), -EUSERS);
        assert_string_equal(be.name, "org.mlockd1.Error.LimitExceeded");
        assert_string_equal(be.message, "too many");
        /* Without a core error: the errno's name and strerror(). */
        assert_int_equal(bus_error_from_core(&be2, NULL, -ESRCH), -ESRCH);
        assert_string_equal(be2.name, "org.mlockd1.Error.NoSuchProcess");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kinds),
                cmocka_unit_test(test_set_first_wins),
                cmocka_unit_test(test_verdict),
                cmocka_unit_test(test_to_bus),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
