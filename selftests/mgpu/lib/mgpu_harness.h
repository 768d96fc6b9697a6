/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Glue between kselftest_harness.h and libmgpu_test (mgpu_test.h).
 * Include after kselftest_harness.h.
 */
#ifndef _MGPU_HARNESS_H
#define _MGPU_HARNESS_H

#include "mgpu_test.h"

#define MiB		(1024ULL * 1024)

/*
 * Skip when the module is not there; fail (with the names) when the
 * parent is not empty, since every capacity figure assumes that it is.
 */
#define MGPU_REQUIRE_EMPTY_PARENT(_parent) do {				\
	int __n;							\
	if (!mgpu_test_loaded())						\
		SKIP(return, "mgpu.ko not loaded (no %s)",		\
		     MGPU_CLASS_DIR);					\
	if (!mgpu_test_parent_exists(_parent))				\
		SKIP(return, "no parent %s", _parent);			\
	__n = mgpu_test_parent_instances(_parent);				\
	ASSERT_EQ(0, __n)						\
		TH_LOG("%s has %d instance(s) left over from an earlier test", \
		       _parent, __n);					\
} while (0)

/* Skip when VFIO is not there. */
#define MGPU_REQUIRE_VFIO() do {					\
	if (!mgpu_test_path_exists("/dev/vfio/vfio"))			\
		SKIP(return, "no /dev/vfio/vfio (vfio not loaded?)");	\
} while (0)

/* Expect an errno-returning helper call to fail with _err. */
#define EXPECT_ERRNO(_err, _expr) do {					\
	long __ret = (long)(_expr);					\
	EXPECT_EQ(-(long)(_err), __ret)					\
		TH_LOG("%s: expected %s, got %s", #_expr,		\
		       strerror(_err),					\
		       __ret < 0 ? strerror(-__ret) : "success");	\
} while (0)

#define ASSERT_OK(_expr) do {						\
	long __ret = (long)(_expr);					\
	ASSERT_EQ(0, __ret)						\
		TH_LOG("%s: %s", #_expr,				\
		       __ret < 0 ? strerror(-__ret) : "unexpected value"); \
} while (0)

#define EXPECT_OK(_expr) do {						\
	long __ret = (long)(_expr);					\
	EXPECT_EQ(0, __ret)						\
		TH_LOG("%s: %s", #_expr,				\
		       __ret < 0 ? strerror(-__ret) : "unexpected value"); \
} while (0)

/*
 * TEST_HARNESS_MAIN that takes the parent under test from the command
 * line or the environment first (mgpu_test_parent_init()), as mainline's
 * VFIO selftests take their device.
 */
#define MGPU_TEST_HARNESS_MAIN						\
int main(int argc, char **argv)						\
{									\
	mgpu_test_parent_init(&argc, argv);				\
	return test_harness_run(argc, argv);				\
}

#endif /* _MGPU_HARNESS_H */
