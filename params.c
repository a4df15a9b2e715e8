// SPDX-License-Identifier: GPL-2.0
/*
 * The module's knobs, under /sys/module/dm_dcache/parameters/: each write
 * is validated and refused with -EINVAL without changing anything, and a
 * valid one takes effect on the live shared cache at once.
 *
 * Locking: the kernel serialises parameter writes with the module's
 * kernel_param_lock, which module init also holds while it publishes
 * dcache_shared, so a setter sees the cache either absent or complete.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mm.h>
#include <linux/string.h>

#include "dcache_target.h"
#include "dcache_policy.h"

unsigned int dcache_pool_mb = 64;
unsigned int dcache_dirty_percent = 66;
unsigned int dcache_flush_delay_ms = 5000;
unsigned int dcache_device_dirty_percent = 50;
bool dcache_trace_stages;
static enum dcache_mode default_mode = DCACHE_MODE_WRITEBACK;
static bool debug_check;
static const struct dcache_policy_ops *policy;	/* NULL: LRU-2 */

/* Half of RAM: the most the pool may take. */
u64 dcache_pool_mb_max(void)
{
	return (totalram_pages() << PAGE_SHIFT) >> 21;
}

static int parse_uint_range(const char *val, unsigned int min, u64 max,
			    unsigned int *out)
{
	unsigned int v;

	if (kstrtouint(val, 10, &v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int pool_mb_set(const char *val, const struct kernel_param *kp)
{
	unsigned int mb;
	int r;

	if (parse_uint_range(val, 1, dcache_pool_mb_max(), &mb))
		return -EINVAL;
	if (dcache_shared) {
		r = dcache_resize(dcache_shared, ((u64)mb << 20) / PAGE_SIZE);
		if (r)
			return r;
	}
	dcache_pool_mb = mb;
	return 0;
}

static const struct kernel_param_ops pool_mb_ops = {
	.set = pool_mb_set,
	.get = param_get_uint,
};
module_param_cb(pool_mb, &pool_mb_ops, &dcache_pool_mb, 0644);
MODULE_PARM_DESC(pool_mb, "Size of the shared block pool in MiB (1 .. half of RAM); resizes a live pool");

static int dirty_percent_set(const char *val, const struct kernel_param *kp)
{
	unsigned int pct;

	if (parse_uint_range(val, 1, 90, &pct))
		return -EINVAL;
	dcache_dirty_percent = pct;
	if (dcache_shared)
		dcache_set_dirty_percent(dcache_shared, pct);
	return 0;
}

static const struct kernel_param_ops dirty_percent_ops = {
	.set = dirty_percent_set,
	.get = param_get_uint,
};
module_param_cb(dirty_percent, &dirty_percent_ops, &dcache_dirty_percent, 0644);
MODULE_PARM_DESC(dirty_percent, "Write back at once when this percentage of the pool is dirty (1 .. 90)");

static int device_dirty_percent_set(const char *val, const struct kernel_param *kp)
{
	unsigned int pct;

	if (parse_uint_range(val, 1, 100, &pct))
		return -EINVAL;
	dcache_device_dirty_percent = pct;
	if (dcache_shared)
		dcache_set_part_dirty_percent(dcache_shared, pct);
	return 0;
}

static const struct kernel_param_ops device_dirty_percent_ops = {
	.set = device_dirty_percent_set,
	.get = param_get_uint,
};
module_param_cb(device_dirty_percent, &device_dirty_percent_ops,
		&dcache_device_dirty_percent, 0644);
MODULE_PARM_DESC(device_dirty_percent,
		 "Most of the pool one device may hold dirty, in percent (1 .. 100); its writers wait beyond it, or fail while its disk fails writes");

static int flush_delay_set(const char *val, const struct kernel_param *kp)
{
	unsigned int ms;

	if (parse_uint_range(val, 1, DCACHE_MAX_AGE_MS, &ms))
		return -EINVAL;
	WRITE_ONCE(dcache_flush_delay_ms, ms);
	return 0;
}

static const struct kernel_param_ops flush_delay_ops = {
	.set = flush_delay_set,
	.get = param_get_uint,
};
module_param_cb(flush_delay_ms, &flush_delay_ops, &dcache_flush_delay_ms, 0644);
MODULE_PARM_DESC(flush_delay_ms, "Longest a dirty block waits for background write-back, in ms (1 .. 3600000)");

static int default_mode_set(const char *val, const struct kernel_param *kp)
{
	enum dcache_mode mode;
	char buf[16];

	/* sysfs writes end in a newline. */
	if (strscpy(buf, val, sizeof(buf)) < 0)
		return -EINVAL;
	strim(buf);
	if (dcache_parse_mode(buf, &mode))
		return -EINVAL;
	WRITE_ONCE(default_mode, mode);
	return 0;
}

static int default_mode_get(char *buffer, const struct kernel_param *kp)
{
	return sysfs_emit(buffer, "%s\n", dcache_mode_name(READ_ONCE(default_mode)));
}

static const struct kernel_param_ops default_mode_ops = {
	.set = default_mode_set,
	.get = default_mode_get,
};
module_param_cb(default_mode, &default_mode_ops, NULL, 0644);
MODULE_PARM_DESC(default_mode, "Mode of new devices whose table line names none (writeback, writethrough, ordered)");

enum dcache_mode dcache_default_mode(void)
{
	return READ_ONCE(default_mode);
}

/*
 * A bool knob takes exactly 0, 1, n, y, N or Y (and a newline): the
 * kernel's own parser reads only the first character, so "1 2" would be
 * taken as true.
 */
static int parse_bool_strict(const char *val, bool *out)
{
	char buf[4];

	if (strscpy(buf, val, sizeof(buf)) < 0)
		return -EINVAL;
	strim(buf);
	if (strlen(buf) != 1 || kstrtobool(buf, out))
		return -EINVAL;
	return 0;
}

/*
 * Writing 1 checks the shared cache's invariants now and on every put;
 * if they are broken now it says so (-EUCLEAN) and changes nothing.
 */
static int debug_check_set(const char *val, const struct kernel_param *kp)
{
	bool on;

	if (parse_bool_strict(val, &on))
		return -EINVAL;
	if (dcache_shared && on && dcache_check(dcache_shared))
		return -EUCLEAN;
	debug_check = on;
	if (dcache_shared)
		dcache_set_debug_check(dcache_shared, on);
	return 0;
}

static const struct kernel_param_ops debug_check_ops = {
	.set = debug_check_set,
	.get = param_get_bool,
};

static int trace_stages_set(const char *val, const struct kernel_param *kp)
{
	bool on;

	if (parse_bool_strict(val, &on))
		return -EINVAL;
	WRITE_ONCE(dcache_trace_stages, on);
	return 0;
}

static const struct kernel_param_ops trace_stages_ops = {
	.set = trace_stages_set,
	.get = param_get_bool,
};
module_param_cb(trace_stages, &trace_stages_ops, &dcache_trace_stages, 0644);
MODULE_PARM_DESC(trace_stages, "Log the start and end of every stage of every device (tests; 0 or 1)");
module_param_cb(debug_check, &debug_check_ops, &debug_check, 0644);
MODULE_PARM_DESC(debug_check, "Check cache invariants on every put (slow; 0 or 1)");

bool dcache_debug_check(void)
{
	return debug_check;
}

/* The eviction policy of the pool, chosen at load (read-only later). */
static int policy_set(const char *val, const struct kernel_param *kp)
{
	const struct dcache_policy_ops *ops;
	char buf[16];

	if (strscpy(buf, val, sizeof(buf)) < 0)
		return -EINVAL;
	strim(buf);
	ops = dcache_policy_find(buf);
	if (!ops)
		return -EINVAL;
	policy = ops;
	return 0;
}

static int policy_get(char *buffer, const struct kernel_param *kp)
{
	return sysfs_emit(buffer, "%s\n", policy ? policy->name : dcache_policy_lru2.name);
}

static const struct kernel_param_ops policy_ops = {
	.set = policy_set,
	.get = policy_get,
};
module_param_cb(policy, &policy_ops, NULL, 0444);
MODULE_PARM_DESC(policy, "Eviction policy of the pool, at load: lru2 (default) or lru");

const struct dcache_policy_ops *dcache_policy_param(void)
{
	return policy;
}
