// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the cache core on small private caches over memory-backed parts:
 * LRU-2 behaviour, hashing, get/put modes and locking, loads and errors,
 * full-cache stalls, dirty accounting, invariants, allocation failures.
 */
#include <kunit/test.h>
#include <linux/kthread.h>
#include <linux/delay.h>
#include <linux/prandom.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "dcache_core.h"
#include "fake_disk.h"

#define BS 512
#define WAIT_SHORT (HZ / 5)	/* long enough to see a thread that should not block */
#define WAIT_LONG (30 * HZ)	/* bound for what must happen */

static bool block_cached(struct fake_disk *d, u64 addr)
{
	struct dcache_block *b = dcache_try_get(d->part, addr, DCACHE_READ);

	if (!b)
		return false;
	dcache_put(b, DCACHE_READ);
	return true;
}

static void get_read_put(struct kunit *test, struct fake_disk *d, u64 addr)
{
	struct dcache_block *b;

	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, addr, DCACHE_READ, false, &b));
	dcache_put(b, DCACHE_READ);
}

static bool block_filled_with(struct dcache_block *b, unsigned int len, u8 byte)
{
	return !memchr_inv(dcache_block_data(b), byte, len);
}

/* ---- LRU-2 */

/* A scan of blocks used once does not evict blocks used twice. */
static void lru_scan_resistance_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	u64 addr;

	for (addr = 0; addr < 4; addr++) {
		get_read_put(test, d, addr);
		get_read_put(test, d, addr);
	}
	/* Plain LRU would now evict all four hot blocks. */
	for (addr = 10; addr < 40; addr++)
		get_read_put(test, d, addr);
	for (addr = 0; addr < 4; addr++)
		KUNIT_EXPECT_TRUE_MSG(test, block_cached(d, addr),
				      "hot block %llu evicted by a scan", addr);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* A new block (one access) is a victim before an older block used twice. */
static void lru_first_access_rule_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 2, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);

	get_read_put(test, d, 0);
	get_read_put(test, d, 0);
	get_read_put(test, d, 1);	/* newest, but used once */
	get_read_put(test, d, 2);	/* must evict 1, not 0 */
	KUNIT_EXPECT_TRUE(test, block_cached(d, 0));
	KUNIT_EXPECT_FALSE(test, block_cached(d, 1));
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.evictions), 1);
}

/* Among blocks used once, the least recently used goes first. */
static void lru_tie_by_last_access_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 3, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);

	get_read_put(test, d, 5);
	get_read_put(test, d, 6);
	get_read_put(test, d, 7);
	get_read_put(test, d, 8);
	KUNIT_EXPECT_FALSE(test, block_cached(d, 5));
	KUNIT_EXPECT_TRUE(test, block_cached(d, 6));
	KUNIT_EXPECT_TRUE(test, block_cached(d, 7));
}

/* The cache's own tick crossing 2^32 does not reorder victims. */
static void lru_tick_crosses_2_32_test(struct kunit *test)
{
	struct dcache_config cfg = {
		.nr_blocks = 4, .block_size = BS, .first_tick = (1ULL << 32) - 5,
	};
	struct dcache *c = fake_cache_cfg(test, &cfg);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	u64 addr;

	for (addr = 0; addr < 4; addr++) {
		get_read_put(test, d, addr);
		get_read_put(test, d, addr);
	}
	KUNIT_EXPECT_GT(test, c->policy.tick, 1ULL << 32);
	/* Block 0 was used before the crossing: it is the victim. */
	get_read_put(test, d, 9);
	get_read_put(test, d, 9);
	KUNIT_EXPECT_FALSE(test, block_cached(d, 0));
	for (addr = 1; addr < 4; addr++)
		KUNIT_EXPECT_TRUE(test, block_cached(d, addr));
}

/* ---- hash */

static void hash_one_chain_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 64, BS, 1);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_block *b;
	u64 addr;

	KUNIT_ASSERT_EQ(test, c->hash_bits, 0U);
	for (addr = 0; addr < 64; addr++)
		get_read_put(test, d, addr);
	for (addr = 0; addr < 64; addr++) {
		b = dcache_try_get(d->part, addr, DCACHE_READ);
		KUNIT_ASSERT_NOT_NULL(test, b);
		KUNIT_EXPECT_EQ(test, b->addr, addr);
		KUNIT_EXPECT_TRUE(test,
				  block_filled_with(b, BS, fake_block_byte(d->part->id, addr)));
		dcache_put(b, DCACHE_READ);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 64);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

static void hash_same_addr_two_parts_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d1 = fake_disk_add(test, c, 16);
	struct fake_disk *d2 = fake_disk_add(test, c, 16);
	struct dcache_block *b1, *b2;

	KUNIT_ASSERT_NE(test, d1->part->id, d2->part->id);
	/* One block lock at a time (the locking rule); compare by address. */
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d1->part, 5, DCACHE_READ, false, &b1));
	KUNIT_EXPECT_TRUE(test, block_filled_with(b1, BS, fake_block_byte(d1->part->id, 5)));
	dcache_put(b1, DCACHE_READ);
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d2->part, 5, DCACHE_READ, false, &b2));
	KUNIT_EXPECT_TRUE(test, block_filled_with(b2, BS, fake_block_byte(d2->part->id, 5)));
	dcache_put(b2, DCACHE_READ);
	KUNIT_EXPECT_PTR_NE(test, b1, b2);
	KUNIT_EXPECT_EQ(test, d1->part->nr_blocks, 1ULL);
	KUNIT_EXPECT_EQ(test, d2->part->nr_blocks, 1ULL);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

static void remove_part_keeps_others_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 16, BS, 0);
	struct fake_disk *d1 = fake_disk_add(test, c, 16);
	struct fake_disk *d2 = fake_disk_add(test, c, 16);
	u64 addr;

	for (addr = 0; addr < 6; addr++) {
		get_read_put(test, d1, addr);
		get_read_put(test, d2, addr);
	}
	KUNIT_ASSERT_EQ(test, 0, dcache_remove_part(d1->part));
	d1->part = NULL;
	KUNIT_EXPECT_EQ(test, fake_nr_free(c), 10ULL);
	for (addr = 0; addr < 6; addr++)
		KUNIT_EXPECT_TRUE(test, block_cached(d2, addr));
	KUNIT_EXPECT_EQ(test, d2->part->nr_blocks, 6ULL);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

static void remove_part_busy_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct dcache_block *b;

	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 3, DCACHE_WRITE, false, &b));
	KUNIT_EXPECT_EQ(test, -EBUSY, dcache_remove_part(d->part));
	fake_mark_dirty_in(b, 1);
	dcache_put(b, DCACHE_WRITE);
	KUNIT_EXPECT_EQ(test, -EBUSY, dcache_remove_part(d->part));
	KUNIT_EXPECT_TRUE(test, block_cached(d, 3));
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 3, DCACHE_READ, false, &b));
	dcache_clean(b);
	dcache_put(b, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * Swap on a dcache device: reclaim writes through the cache, so the cache
 * mutex is taken under reclaim. Tell lockdep so, then add and remove parts
 * and load blocks: an allocation that may reclaim under the mutex (as
 * idr_alloc(GFP_KERNEL) once did) is a lockdep report, which fails check.
 */
static void mutex_taken_under_reclaim_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 16, BS, 0);
	struct fake_disk *d1, *d2;

	fs_reclaim_acquire(GFP_KERNEL);
	mutex_lock(&c->lock);
	mutex_unlock(&c->lock);
	fs_reclaim_release(GFP_KERNEL);
	d1 = fake_disk_add(test, c, 16);
	d2 = fake_disk_add(test, c, 16);
	get_read_put(test, d1, 1);
	get_read_put(test, d2, 1);
	KUNIT_ASSERT_EQ(test, 0, dcache_remove_part(d1->part));
	d1->part = NULL;
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* ---- get / put modes and loads */

static void get_read_loads_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 4, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct dcache_block *b;

	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 9, DCACHE_READ, false, &b));
	KUNIT_EXPECT_TRUE(test, dcache_block_valid(b));
	KUNIT_EXPECT_TRUE(test, block_filled_with(b, BS, fake_block_byte(d->part->id, 9)));
	dcache_put(b, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.misses), 1);
	/* A second get is a hit and does not read again. */
	get_read_put(test, d, 9);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.hits), 1);
}

static void get_rdwr_loads_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 4, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct dcache_block *b;

	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 2, DCACHE_RDWR, false, &b));
	KUNIT_EXPECT_TRUE(test, block_filled_with(b, BS, fake_block_byte(d->part->id, 2)));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 1);
	dcache_put(b, DCACHE_RDWR);
}

static void get_write_does_not_read_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 4, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct dcache_block *b;

	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 4, DCACHE_WRITE, false, &b));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 0);
	KUNIT_EXPECT_TRUE(test, dcache_block_valid(b));
	memset(dcache_block_data(b), 0xab, BS);
	fake_mark_dirty_in(b, 1);
	dcache_put(b, DCACHE_WRITE);
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 4, DCACHE_READ, false, &b));
	KUNIT_EXPECT_TRUE(test, block_filled_with(b, BS, 0xab));
	dcache_clean(b);
	dcache_put(b, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 0);
}

static void read_error_returned_and_retried_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 4, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct dcache_block *b;

	d->fail_reads = true;
	KUNIT_EXPECT_EQ(test, -EIO, dcache_get(d->part, 1, DCACHE_READ, false, &b));
	KUNIT_EXPECT_EQ(test, -EIO, dcache_get(d->part, 1, DCACHE_RDWR, false, &b));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 2);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.read_errors), 2);
	/* Still hashed, not valid: the fast path does not serve it. */
	KUNIT_EXPECT_EQ(test, d->part->nr_blocks, 1ULL);
	KUNIT_EXPECT_NULL(test, dcache_try_get(d->part, 1, DCACHE_READ));
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	d->fail_reads = false;
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 1, DCACHE_READ, false, &b));
	KUNIT_EXPECT_TRUE(test, block_filled_with(b, BS, fake_block_byte(d->part->id, 1)));
	dcache_put(b, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 3);
}

struct getter {
	struct dcache_part *part;
	u64 addr;
	enum dcache_access mode;
	bool interruptible;
	struct completion got;
	struct completion release;
	struct completion done;
	struct dcache_block *b;
	int result;
	struct task_struct *task;
};

static int getter_fn(void *arg)
{
	struct getter *g = arg;

	allow_signal(SIGKILL);
	g->result = dcache_get(g->part, g->addr, g->mode, g->interruptible, &g->b);
	complete(&g->got);
	if (!g->result) {
		wait_for_completion(&g->release);
		dcache_put(g->b, g->mode);
	}
	complete(&g->done);
	return 0;
}

static struct getter *start_getter(struct kunit *test, struct fake_disk *d,
				   u64 addr, enum dcache_access mode)
{
	struct getter *g = kunit_kzalloc(test, sizeof(*g), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, g);
	g->part = d->part;
	g->addr = addr;
	g->mode = mode;
	init_completion(&g->got);
	init_completion(&g->release);
	init_completion(&g->done);
	return g;
}

static void run_getter(struct kunit *test, struct getter *g)
{
	g->task = kthread_run(getter_fn, g, "dcache-test-get");
	KUNIT_ASSERT_FALSE(test, IS_ERR(g->task));
}

/* Let a getter put its block and wait until it has. */
static void finish_getter(struct kunit *test, struct getter *g)
{
	complete(&g->release);
	KUNIT_ASSERT_NE(test, 0UL, wait_for_completion_timeout(&g->done, WAIT_LONG));
}

static void readers_share_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 4, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct getter *r1 = start_getter(test, d, 3, DCACHE_READ);
	struct getter *r2 = start_getter(test, d, 3, DCACHE_READ);

	run_getter(test, r1);
	KUNIT_ASSERT_NE(test, 0UL, wait_for_completion_timeout(&r1->got, WAIT_LONG));
	run_getter(test, r2);
	/* The second reader gets in while the first still holds the block. */
	KUNIT_EXPECT_NE(test, 0UL, wait_for_completion_timeout(&r2->got, WAIT_LONG));
	KUNIT_EXPECT_PTR_EQ(test, r1->b, r2->b);
	finish_getter(test, r1);
	finish_getter(test, r2);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 1);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* The first of two getters to get its block, or NULL after WAIT_LONG. */
static struct getter *wait_either(struct getter *a, struct getter *b)
{
	unsigned long end = jiffies + WAIT_LONG;

	while (time_before(jiffies, end)) {
		if (completion_done(&a->got))
			return a;
		if (completion_done(&b->got))
			return b;
		msleep(20);
	}
	return NULL;
}

static void writer_excludes_test(struct kunit *test)
{
	struct getter *first, *second;
	struct dcache *c = fake_cache(test, 4, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct getter *w = start_getter(test, d, 3, DCACHE_RDWR);
	struct getter *r = start_getter(test, d, 3, DCACHE_READ);
	struct getter *w2 = start_getter(test, d, 3, DCACHE_WRITE);

	run_getter(test, w);
	KUNIT_ASSERT_NE(test, 0UL, wait_for_completion_timeout(&w->got, WAIT_LONG));
	run_getter(test, r);
	run_getter(test, w2);
	KUNIT_EXPECT_EQ(test, 0UL, wait_for_completion_timeout(&r->got, WAIT_SHORT));
	KUNIT_EXPECT_EQ(test, 0UL, wait_for_completion_timeout(&w2->got, WAIT_SHORT));
	finish_getter(test, w);
	/*
	 * Once the writer is gone, the others get the block in turn, in an
	 * order the lock chooses: release the first one in, then the other.
	 */
	first = wait_either(r, w2);
	KUNIT_ASSERT_NOT_NULL(test, first);
	finish_getter(test, first);
	second = first == r ? w2 : r;
	KUNIT_ASSERT_NE(test, 0UL, wait_for_completion_timeout(&second->got, WAIT_LONG));
	finish_getter(test, second);
	KUNIT_EXPECT_EQ(test, 0, r->result);
	KUNIT_EXPECT_EQ(test, 0, w2->result);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

static void try_get_never_blocks_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 4, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct getter *w = start_getter(test, d, 6, DCACHE_RDWR);
	struct dcache_block *t;

	/* Not cached: NULL, and nothing allocated or read. */
	KUNIT_EXPECT_NULL(test, dcache_try_get(d->part, 6, DCACHE_READ));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 0);
	KUNIT_EXPECT_EQ(test, fake_nr_free(c), 4ULL);
	/* Held exclusively by another task: NULL instead of waiting. */
	run_getter(test, w);
	KUNIT_ASSERT_NE(test, 0UL, wait_for_completion_timeout(&w->got, WAIT_LONG));
	KUNIT_EXPECT_NULL(test, dcache_try_get(d->part, 6, DCACHE_READ));
	KUNIT_EXPECT_NULL(test, dcache_try_get(d->part, 6, DCACHE_WRITE));
	finish_getter(test, w);
	t = dcache_try_get(d->part, 6, DCACHE_READ);
	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_EXPECT_TRUE(test, block_filled_with(t, BS, fake_block_byte(d->part->id, 6)));
	dcache_put(t, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* Two getters of a block being loaded share one load and see its data. */
static void load_shared_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 4, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct getter *r1 = start_getter(test, d, 8, DCACHE_READ);
	struct getter *r2 = start_getter(test, d, 8, DCACHE_READ);
	struct dcache_block *t;

	d->async = true;
	d->hold = true;
	run_getter(test, r1);
	run_getter(test, r2);
	/* A second getter joins the load in flight rather than starting one. */
	KUNIT_EXPECT_EQ(test, 0UL, wait_for_completion_timeout(&r1->got, WAIT_SHORT));
	KUNIT_EXPECT_FALSE(test, completion_done(&r2->got));
	KUNIT_EXPECT_NULL(test, dcache_try_get(d->part, 8, DCACHE_READ));
	fake_disk_release(d);
	KUNIT_ASSERT_NE(test, 0UL, wait_for_completion_timeout(&r1->got, WAIT_LONG));
	KUNIT_ASSERT_NE(test, 0UL, wait_for_completion_timeout(&r2->got, WAIT_LONG));
	KUNIT_EXPECT_EQ(test, 0, r1->result);
	KUNIT_EXPECT_EQ(test, 0, r2->result);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 1);
	KUNIT_EXPECT_TRUE(test, block_filled_with(r1->b, BS, fake_block_byte(d->part->id, 8)));
	finish_getter(test, r1);
	finish_getter(test, r2);
	/* Already valid: no load. */
	t = dcache_try_get(d->part, 8, DCACHE_READ);
	KUNIT_ASSERT_NOT_NULL(test, t);
	dcache_put(t, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 1);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* A load that fails from a workqueue fails its getter; the block stays invalid. */
static void load_async_error_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 4, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct getter *g = start_getter(test, d, 2, DCACHE_READ);

	d->async = true;
	d->fail_reads = true;
	run_getter(test, g);
	KUNIT_ASSERT_NE(test, 0UL, wait_for_completion_timeout(&g->done, WAIT_LONG));
	KUNIT_EXPECT_EQ(test, -EIO, g->result);
	KUNIT_EXPECT_NULL(test, dcache_try_get(d->part, 2, DCACHE_READ));
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* ---- full cache */

struct kick_counter {
	struct dcache_flush_ops ops;
	atomic_t kicks;
	atomic_t delayed_kicks;
};

static struct kick_counter *kicks_of(struct dcache *c)
{
	return container_of(c->flush_ops, struct kick_counter, ops);
}

static void count_kick(struct dcache *c, struct dcache_part *part)
{
	atomic_inc(&kicks_of(c)->kicks);
}

static void count_delayed_kick(struct dcache *c, struct dcache_part *part)
{
	atomic_inc(&kicks_of(c)->delayed_kicks);
}

static struct kick_counter *install_kick_counter(struct kunit *test, struct dcache *c)
{
	struct kick_counter *k = kunit_kzalloc(test, sizeof(*k), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, k);
	k->ops.kick = count_kick;
	k->ops.kick_delayed = count_delayed_kick;
	c->flush_ops = &k->ops;
	return k;
}

static bool wait_for_stalls(struct dcache *c, s64 n)
{
	unsigned long end = jiffies + WAIT_LONG;

	while (atomic64_read(&c->stats.stalls) < n) {
		if (time_after(jiffies, end))
			return false;
		usleep_range(5000, 10000);
	}
	return true;
}

static void full_cache_woken_by_put_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 2, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct getter *g = start_getter(test, d, 7, DCACHE_READ);
	struct dcache_block *b0, *b1;

	/* Pins, not locks: the test task holds two blocks at once. */
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 0, DCACHE_READ, false, &b0));
	dcache_unlock_block(b0, DCACHE_READ);
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 1, DCACHE_READ, false, &b1));
	dcache_unlock_block(b1, DCACHE_READ);
	run_getter(test, g);
	KUNIT_EXPECT_TRUE(test, wait_for_stalls(c, 1));
	KUNIT_EXPECT_FALSE(test, completion_done(&g->got));
	dcache_unpin(b0);
	KUNIT_EXPECT_NE(test, 0UL, wait_for_completion_timeout(&g->got, WAIT_LONG));
	finish_getter(test, g);
	KUNIT_EXPECT_EQ(test, 0, g->result);
	dcache_unpin(b1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.stalls), 1);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

static void full_cache_woken_by_clean_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 2, BS, 0);
	struct kick_counter *k = install_kick_counter(test, c);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct getter *g = start_getter(test, d, 7, DCACHE_READ);
	struct dcache_block *b;
	u64 addr;

	for (addr = 0; addr < 2; addr++) {
		KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, addr, DCACHE_WRITE, false, &b));
		fake_mark_dirty_in(b, 1);
		dcache_put(b, DCACHE_WRITE);
	}
	run_getter(test, g);
	KUNIT_EXPECT_TRUE(test, wait_for_stalls(c, 1));
	/* A stall on dirty blocks asks the flusher for a round. */
	KUNIT_EXPECT_GE(test, atomic_read(&k->kicks), 1);
	KUNIT_EXPECT_FALSE(test, completion_done(&g->got));
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 1, DCACHE_READ, false, &b));
	dcache_clean(b);
	dcache_put(b, DCACHE_READ);
	KUNIT_EXPECT_NE(test, 0UL, wait_for_completion_timeout(&g->got, WAIT_LONG));
	finish_getter(test, g);
	KUNIT_EXPECT_EQ(test, 0, g->result);
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 0, DCACHE_READ, false, &b));
	dcache_clean(b);
	dcache_put(b, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

static void full_cache_interruptible_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 1, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct getter *g = start_getter(test, d, 5, DCACHE_READ);
	struct dcache_block *b;

	g->interruptible = true;
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 0, DCACHE_READ, false, &b));
	run_getter(test, g);
	KUNIT_EXPECT_TRUE(test, wait_for_stalls(c, 1));
	send_sig(SIGKILL, g->task, 1);
	KUNIT_EXPECT_NE(test, 0UL, wait_for_completion_timeout(&g->done, WAIT_LONG));
	KUNIT_EXPECT_EQ(test, -EINTR, g->result);
	dcache_put(b, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * A run of cached blocks for a read of many: it stops at the first block
 * not cached or held by a writer, and putting it drops every pin.
 */
static void read_run_stops_at_gap_or_writer_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 16, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_block *run[8], *b;
	unsigned int i, got;

	for (i = 0; i < 8; i++)
		if (i != 5)
			get_read_put(test, d, i);
	got = dcache_try_read_run(d->part, 0, 8, run, NULL);
	KUNIT_EXPECT_EQ(test, got, 5U);
	for (i = 0; i < got; i++)
		KUNIT_EXPECT_EQ(test, run[i]->addr, (u64)i);
	dcache_put_read_run(run, got);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));

	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 2, DCACHE_RDWR, false, &b));
	KUNIT_EXPECT_EQ(test, dcache_try_read_run(d->part, 0, 8, run, NULL), 2U);
	dcache_put_read_run(run, 2);
	KUNIT_EXPECT_EQ(test, dcache_try_read_run(d->part, 2, 3, run, NULL), 0U);
	dcache_put(b, DCACHE_RDWR);
	KUNIT_EXPECT_EQ(test, dcache_try_read_run(d->part, 6, 2, run, NULL), 2U);
	dcache_put_read_run(run, 2);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	for (i = 0; i < 8; i++) {
		b = i == 5 ? NULL : dcache_try_get(d->part, i, DCACHE_WRITE);
		if (b) {
			KUNIT_EXPECT_EQ(test, b->refs, 1U);
			dcache_put(b, DCACHE_WRITE);
		}
	}
}

/*
 * A read that gets no cached block learns, under the same hold of the
 * mutex, how many blocks from its first the cache has none for: those may
 * go around the cache. Cached blocks, even busy ones, stop the count.
 */
static void read_run_counts_uncached_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 16, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_block *run[8], *b;
	unsigned int i, n;

	for (i = 0; i < 9; i++)
		if (i < 4 || i == 8)
			get_read_put(test, d, i);
	n = 8;
	KUNIT_EXPECT_EQ(test, dcache_try_read_run(d->part, 4, 8, run, &n), 0U);
	KUNIT_EXPECT_EQ(test, n, 4U);		/* 4 to 7; 8 is cached */
	n = 40;					/* a long read: past the run */
	KUNIT_EXPECT_EQ(test, dcache_try_read_run(d->part, 9, 8, run, &n), 0U);
	KUNIT_EXPECT_EQ(test, n, 40U);
	n = 2;
	KUNIT_EXPECT_EQ(test, dcache_try_read_run(d->part, 4, 8, run, &n), 0U);
	KUNIT_EXPECT_EQ(test, n, 2U);

	n = 8;
	KUNIT_EXPECT_EQ(test, dcache_try_read_run(d->part, 0, 8, run, &n), 4U);
	KUNIT_EXPECT_EQ(test, n, 0U);		/* got some: none goes around */
	dcache_put_read_run(run, 4);

	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 2, DCACHE_RDWR, false, &b));
	n = 8;
	KUNIT_EXPECT_EQ(test, dcache_try_read_run(d->part, 2, 3, run, &n), 0U);
	KUNIT_EXPECT_EQ(test, n, 0U);		/* busy, but cached */
	dcache_put(b, DCACHE_RDWR);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* What a backing read of a run puts in its blocks: the disk's bytes. */
static void fill_run_from_disk(struct fake_disk *d, struct dcache_block **run,
			       unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		memset(dcache_block_data(run[i]), fake_block_byte(d->part->id, run[i]->addr),
		       BS);
}

/*
 * A miss run pins fresh blocks up to the first cached one, loading; a
 * getter of one waits for the run's load and gets its data, no read of
 * its own.
 */
static void miss_run_pins_until_cached_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct getter *r = start_getter(test, d, 1, DCACHE_READ);
	struct dcache_block *run[8];
	unsigned int i, n;

	get_read_put(test, d, 3);
	n = dcache_pin_uncached_run(d->part, 0, 8, run);
	KUNIT_ASSERT_EQ(test, n, 3U);
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_EQ(test, run[i]->addr, (u64)i);
		KUNIT_EXPECT_TRUE(test, test_bit(DCACHE_B_LOADING, &run[i]->flags));
	}
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	/* Loading: the fast paths pass, a getter waits. */
	KUNIT_EXPECT_NULL(test, dcache_try_get(d->part, 1, DCACHE_READ));
	KUNIT_EXPECT_NULL(test, dcache_try_get(d->part, 1, DCACHE_WRITE));
	KUNIT_EXPECT_EQ(test, dcache_pin_uncached_run(d->part, 1, 2, run + n), 0U);
	run_getter(test, r);
	KUNIT_EXPECT_EQ(test, 0UL, wait_for_completion_timeout(&r->got, WAIT_SHORT));
	fill_run_from_disk(d, run, n);
	dcache_load_run_end(run, n, 0);
	KUNIT_ASSERT_NE(test, 0UL, wait_for_completion_timeout(&r->got, WAIT_LONG));
	KUNIT_EXPECT_EQ(test, 0, r->result);
	KUNIT_EXPECT_TRUE(test, block_filled_with(r->b, BS, fake_block_byte(d->part->id, 1)));
	finish_getter(test, r);
	dcache_unpin_run(run, n);
	/* One read for block 3; the run's blocks are hits now. */
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 1);
	KUNIT_EXPECT_EQ(test, dcache_try_read_run(d->part, 0, 4, run, NULL), 4U);
	dcache_put_read_run(run, 4);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 1);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* A miss run never waits for a block: a full cache gives a short run. */
static void miss_run_full_cache_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 3, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_block *held, *run[4];

	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 20, DCACHE_READ, false, &held));
	KUNIT_EXPECT_EQ(test, dcache_pin_uncached_run(d->part, 0, 4, run), 2U);
	KUNIT_EXPECT_EQ(test, dcache_pin_uncached_run(d->part, 8, 4, run + 2), 0U);
	dcache_abandon_load_run(run, 2);
	dcache_put(held, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * A failed run load leaves its blocks without data, counted as read
 * errors; an abandoned one (never sent) too, uncounted. Either way the
 * next getter loads the block itself.
 */
static void miss_run_error_and_abandon_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_block *run[4], *b;
	u64 addr;

	KUNIT_ASSERT_EQ(test, dcache_pin_uncached_run(d->part, 10, 2, run), 2U);
	dcache_load_run_end(run, 2, -EIO);
	dcache_unpin_run(run, 2);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.read_errors), 2);
	KUNIT_ASSERT_EQ(test, dcache_pin_uncached_run(d->part, 20, 2, run), 2U);
	dcache_abandon_load_run(run, 2);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.read_errors), 2);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	for (addr = 10; addr < 22; addr += addr == 11 ? 9 : 1) {
		KUNIT_EXPECT_NULL(test, dcache_try_get(d->part, addr, DCACHE_READ));
		KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, addr, DCACHE_READ, false, &b));
		KUNIT_EXPECT_TRUE(test, block_filled_with(b, BS,
							  fake_block_byte(d->part->id, addr)));
		dcache_put(b, DCACHE_READ);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 4);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * A write going around the cache pins fresh blocks and cached ones that
 * owe the disk nothing and that nobody holds, up to the first other one:
 * never a dirty block, one with a copy in flight or a held one (an older
 * copy could land after the write). Its blocks load until it lands; a
 * getter then sees the write's data, with no read of the disk; after a
 * failed write the next getter reads the disk.
 */
static void write_run_takes_idle_clean_blocks_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct getter *r = start_getter(test, d, 1, DCACHE_READ);
	struct dcache_block *run[8], *held, *b;
	unsigned int i, n;
	int r_pin;

	get_read_put(test, d, 2);
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 3, DCACHE_WRITE, false, &b));
	fake_mark_dirty_in(b, 5);
	dcache_put(b, DCACHE_WRITE);
	/* Block 5 pinned, as by a getter: the pin is what keeps it. */
	get_read_put(test, d, 5);
	held = dcache_pin_block(d->part, 5, PIN_LOOKUP, false, &r_pin);
	KUNIT_ASSERT_NOT_NULL(test, held);
	n = dcache_pin_write_run(d->part, 0, 8, run);
	KUNIT_ASSERT_EQ(test, n, 3U);
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_EQ(test, run[i]->addr, (u64)i);
		KUNIT_EXPECT_TRUE(test, test_bit(DCACHE_B_LOADING, &run[i]->flags));
		memset(dcache_block_data(run[i]), 0xab, BS);
	}
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	KUNIT_EXPECT_EQ(test, dcache_pin_write_run(d->part, 3, 1, run + n), 0U);
	KUNIT_EXPECT_EQ(test, dcache_pin_write_run(d->part, 5, 1, run + n), 0U);
	KUNIT_EXPECT_EQ(test, dcache_pin_write_run(d->part, 1, 1, run + n), 0U);
	KUNIT_EXPECT_NULL(test, dcache_try_get(d->part, 2, DCACHE_READ));
	run_getter(test, r);
	KUNIT_EXPECT_EQ(test, 0UL, wait_for_completion_timeout(&r->got, WAIT_SHORT));
	dcache_write_run_end(run, n, 0);
	KUNIT_ASSERT_NE(test, 0UL, wait_for_completion_timeout(&r->got, WAIT_LONG));
	KUNIT_EXPECT_EQ(test, 0, r->result);
	KUNIT_EXPECT_TRUE(test, block_filled_with(r->b, BS, 0xab));
	finish_getter(test, r);
	dcache_unpin_run(run, n);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 2);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));

	/* A copy in flight (set by hand here) keeps a clean block too. */
	set_bit(DCACHE_B_WRITING, &run[2]->flags);
	KUNIT_EXPECT_EQ(test, dcache_pin_write_run(d->part, 2, 1, run), 0U);
	clear_bit(DCACHE_B_WRITING, &run[2]->flags);

	/* A failed write: neither copy is known good, the disk's is read. */
	KUNIT_ASSERT_EQ(test, dcache_pin_write_run(d->part, 2, 1, run), 1U);
	memset(dcache_block_data(run[0]), 0xcd, BS);
	dcache_write_run_end(run, 1, -EIO);
	dcache_unpin_run(run, 1);
	KUNIT_EXPECT_NULL(test, dcache_try_get(d->part, 2, DCACHE_READ));
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 2, DCACHE_READ, false, &b));
	KUNIT_EXPECT_TRUE(test, block_filled_with(b, BS, fake_block_byte(d->part->id, 2)));
	dcache_put(b, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 3);
	dcache_unpin(held);
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 3, DCACHE_READ, false, &b));
	dcache_clean(b);
	dcache_put(b, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * A write around the cache with no block claims the uncached run from its
 * first block: while it is in flight no block of the run is made, by a
 * miss, a load ahead, a pinned write-around or a new write, and a getter
 * waits; after its end the getter loads what the disk holds. A cached
 * first block, or every slot in use, claims nothing.
 */
static void uncached_write_claims_run_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct getter *r = start_getter(test, d, 1, DCACHE_READ);
	unsigned int slot, slots[DCACHE_UNCACHED_WRITES], i;
	struct dcache_block *run[4];

	get_read_put(test, d, 4);
	KUNIT_ASSERT_EQ(test, dcache_claim_uncached_write(d->part, 0, 8, &slot), 4U);
	KUNIT_EXPECT_EQ(test, dcache_claim_uncached_write(d->part, 4, 8, &slots[0]), 0U);
	KUNIT_EXPECT_EQ(test, dcache_pin_uncached_run(d->part, 2, 4, run), 0U);
	KUNIT_EXPECT_EQ(test, dcache_pin_ahead_run(d->part, 3, 1, run), 0U);
	KUNIT_EXPECT_EQ(test, dcache_pin_write_run(d->part, 0, 1, run), 0U);
	KUNIT_EXPECT_NULL(test, dcache_try_get_new(d->part, 1));
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	run_getter(test, r);
	KUNIT_EXPECT_EQ(test, 0UL, wait_for_completion_timeout(&r->got, WAIT_SHORT));

	/* Seven more writes in flight fill the slots; a ninth claims nothing. */
	for (i = 1; i < DCACHE_UNCACHED_WRITES; i++)
		KUNIT_ASSERT_EQ(test, dcache_claim_uncached_write(d->part, 8 + i, 1, &slots[i]),
				1U);
	KUNIT_EXPECT_EQ(test, dcache_claim_uncached_write(d->part, 20, 1, &slots[0]), 0U);
	for (i = 1; i < DCACHE_UNCACHED_WRITES; i++)
		dcache_end_uncached_write(d->part, slots[i]);
	KUNIT_EXPECT_EQ(test, 0UL, wait_for_completion_timeout(&r->got, WAIT_SHORT));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 1);

	dcache_end_uncached_write(d->part, slot);
	KUNIT_ASSERT_NE(test, 0UL, wait_for_completion_timeout(&r->got, WAIT_LONG));
	KUNIT_EXPECT_EQ(test, 0, r->result);
	KUNIT_EXPECT_TRUE(test, block_filled_with(r->b, BS, fake_block_byte(d->part->id, 1)));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 2);
	finish_getter(test, r);
	KUNIT_ASSERT_EQ(test, dcache_pin_uncached_run(d->part, 2, 2, run), 2U);
	dcache_abandon_load_run(run, 2);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * An ordered discard still queued (the device switched to write-back or
 * writethrough before its stage) would erase a write that goes to the
 * disk first: no write-around, claimed or pinned, until it is issued.
 */
static void write_around_waits_for_discards_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_discard *q = kzalloc(sizeof(*q), GFP_KERNEL);
	struct dcache_block *run[2];
	unsigned int slot;
	LIST_HEAD(taken);
	u64 e;

	KUNIT_ASSERT_NOT_NULL(test, q);
	get_read_put(test, d, 40);
	KUNIT_ASSERT_EQ(test, 0, dcache_discard_range(d->part, 10, 2, q, &e));
	KUNIT_EXPECT_TRUE(test, dcache_discards_pending(d->part));
	KUNIT_EXPECT_EQ(test, dcache_claim_uncached_write(d->part, 10, 2, &slot), 0U);
	KUNIT_EXPECT_EQ(test, dcache_claim_uncached_write(d->part, 30, 1, &slot), 0U);
	KUNIT_EXPECT_EQ(test, dcache_pin_write_run(d->part, 40, 1, run), 0U);

	/* Taken for its stage but not yet on the disk: still pending. */
	dcache_take_discards(d->part, e, &taken);
	KUNIT_ASSERT_TRUE(test, list_is_singular(&taken));
	KUNIT_EXPECT_EQ(test, dcache_claim_uncached_write(d->part, 10, 2, &slot), 0U);
	list_del(&q->link);
	kfree(q);
	dcache_discards_issued(d->part, 1);
	KUNIT_EXPECT_FALSE(test, dcache_discards_pending(d->part));
	KUNIT_ASSERT_EQ(test, dcache_claim_uncached_write(d->part, 10, 2, &slot), 2U);
	dcache_end_uncached_write(d->part, slot);
	KUNIT_ASSERT_EQ(test, dcache_pin_write_run(d->part, 40, 1, run), 1U);
	dcache_write_run_end(run, 1, 0);
	dcache_unpin_run(run, 1);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* Read @n blocks ahead from @addr, filled with the disk's bytes. */
static unsigned int read_ahead(struct fake_disk *d, u64 addr, unsigned int n)
{
	struct dcache_block *run[8];

	n = dcache_pin_ahead_run(d->part, addr, min(n, 8U), run);
	fill_run_from_disk(d, run, n);
	dcache_load_run_end(run, n, 0);
	dcache_unpin_run(run, n);
	return n;
}

/*
 * Readahead never evicts a block used twice: in a cache full of them it
 * loads nothing, and it replaces only blocks used once. Its load is no
 * use of a block and no miss: the block's first read is its first use
 * (so one read does not make it a block used twice), and a hit.
 */
static void ahead_spares_blocks_used_twice_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 4, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_block *run[4], *b;
	s64 misses, hits;
	unsigned int n;
	u64 a;

	for (a = 0; a < 4; a++) {
		get_read_put(test, d, a);
		get_read_put(test, d, a);
	}
	KUNIT_EXPECT_EQ(test, read_ahead(d, 10, 4), 0U);
	/* A miss evicts block 0; 20 is used once, so readahead may take it. */
	get_read_put(test, d, 20);
	KUNIT_EXPECT_EQ(test, read_ahead(d, 10, 4), 1U);
	n = dcache_try_read_run(d->part, 1, 3, run, NULL);
	KUNIT_EXPECT_EQ(test, n, 3U);
	dcache_put_read_run(run, n);

	misses = atomic64_read(&c->stats.misses);
	hits = atomic64_read(&c->stats.hits);
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 10, DCACHE_READ, false, &b));
	KUNIT_EXPECT_TRUE(test, block_filled_with(b, BS, fake_block_byte(d->part->id, 10)));
	dcache_put(b, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.misses), misses);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.hits), hits + 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 5);
	/* Read once since its load: the next window may take it. */
	KUNIT_EXPECT_EQ(test, read_ahead(d, 30, 4), 1U);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* Plain LRU cannot tell blocks used once: readahead takes free blocks only. */
static void ahead_takes_free_blocks_only_with_lru_test(struct kunit *test)
{
	struct dcache_config cfg = {
		.nr_blocks = 4, .block_size = BS, .policy = &dcache_policy_lru,
	};
	struct dcache *c = fake_cache_cfg(test, &cfg);
	struct fake_disk *d = fake_disk_add(test, c, 64);

	get_read_put(test, d, 0);
	get_read_put(test, d, 1);
	KUNIT_EXPECT_EQ(test, read_ahead(d, 10, 4), 2U);
	KUNIT_EXPECT_EQ(test, read_ahead(d, 20, 4), 0U);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

static void full_cache_no_wait_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 1, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct dcache_block *b;

	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 0, DCACHE_READ, false, &b));
	KUNIT_EXPECT_NULL(test, dcache_try_get(d->part, 1, DCACHE_READ));
	KUNIT_EXPECT_NULL(test, dcache_try_get(d->part, 1, DCACHE_WRITE));
	dcache_put(b, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * A whole-block write of an uncached block in map(): a fresh block, held
 * exclusive and valid, from the free list or a clean victim; never one
 * already cached, never a wait when every block is busy.
 */
static void try_get_new_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 2, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct dcache_block *b, *held;

	b = dcache_try_get_new(d->part, 3);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_EXPECT_TRUE(test, dcache_block_valid(b));
	/* Held exclusive: a reader cannot have it. */
	KUNIT_EXPECT_NULL(test, dcache_try_get(d->part, 3, DCACHE_READ));
	KUNIT_EXPECT_NULL(test, dcache_try_get_new(d->part, 3));
	memset(dcache_block_data(b), 0x5a, BS);
	dcache_put(b, DCACHE_WRITE);
	/* The write's data, with no load from the disk. */
	b = dcache_try_get(d->part, 3, DCACHE_READ);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_EXPECT_TRUE(test, block_filled_with(b, BS, 0x5a));
	dcache_put(b, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->reads), 0);
	/* Cached: a try_get's, not a new one. */
	KUNIT_EXPECT_NULL(test, dcache_try_get_new(d->part, 3));

	/* One block free, then a clean victim. */
	b = dcache_try_get_new(d->part, 4);
	KUNIT_ASSERT_NOT_NULL(test, b);
	dcache_put(b, DCACHE_WRITE);
	/*
	 * Held first, with no other block lock held: a bio holds one at a
	 * time, and lockdep sees two blocking ones as a recursion.
	 */
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 6, DCACHE_READ, false, &held));
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.evictions), 1);
	b = dcache_try_get_new(d->part, 5);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.evictions), 2);
	/* Every block busy: NULL at once, no wait. */
	KUNIT_EXPECT_NULL(test, dcache_try_get_new(d->part, 7));
	dcache_put(b, DCACHE_WRITE);
	dcache_put(held, DCACHE_READ);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* ---- dirty state */

static void dirty_accounting_test(struct kunit *test)
{
	struct dcache_config cfg = { .nr_blocks = 8, .block_size = BS, .max_dirty = 3 };
	struct dcache *c = fake_cache_cfg(test, &cfg);
	struct kick_counter *k = install_kick_counter(test, c);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct dcache_block *b;
	u64 addr;

	for (addr = 0; addr < 2; addr++) {
		KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, addr, DCACHE_WRITE, false, &b));
		fake_mark_dirty_in(b, 5);
		fake_mark_dirty_in(b, 5);	/* twice: counted once */
		dcache_put(b, DCACHE_WRITE);
	}
	KUNIT_EXPECT_EQ(test, fake_nr_dirty(c), 2ULL);
	KUNIT_EXPECT_EQ(test, d->part->nr_dirty, 2ULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&k->delayed_kicks), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&k->kicks), 0);
	/* Reaching max_dirty kicks a round at once. */
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 2, DCACHE_WRITE, false, &b));
	fake_mark_dirty_in(b, 6);
	dcache_put(b, DCACHE_WRITE);
	KUNIT_EXPECT_EQ(test, atomic_read(&k->kicks), 1);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	/* Dirty blocks are never victims: fill the rest and go on. */
	for (addr = 3; addr < 12; addr++)
		get_read_put(test, d, addr);
	for (addr = 0; addr < 3; addr++)
		KUNIT_EXPECT_TRUE(test, block_cached(d, addr));
	for (addr = 0; addr < 3; addr++) {
		KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, addr, DCACHE_READ, false, &b));
		dcache_clean(b);
		dcache_clean(b);	/* twice: counted once */
		dcache_put(b, DCACHE_READ);
	}
	KUNIT_EXPECT_EQ(test, fake_nr_dirty(c), 0ULL);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

static void dirty_keeps_oldest_epoch_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 4, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 16);
	struct dcache_block *b;

	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 1, DCACHE_RDWR, false, &b));
	fake_mark_dirty_in(b, 7);
	fake_mark_dirty_in(b, 9);
	KUNIT_EXPECT_EQ(test, b->epoch, 7ULL);
	dcache_clean(b);
	fake_mark_dirty_in(b, 9);
	KUNIT_EXPECT_EQ(test, b->epoch, 9ULL);
	dcache_clean(b);
	dcache_put(b, DCACHE_RDWR);
}

/* ---- invariants and creation */

static void write_back_one(struct kunit *test, struct dcache *c,
			   struct fake_disk **disks, int nr_disks)
{
	struct dcache_block *first = NULL, *b;
	struct fake_disk *d = NULL;
	u64 addr;
	int i;

	mutex_lock(&c->lock);
	for (i = 0; i < nr_disks && !first; i++) {
		first = rb_entry_safe(rb_first_cached(&disks[i]->part->dirty),
				      struct dcache_block, dirty_node);
		d = disks[i];
	}
	if (first)
		addr = first->addr;
	mutex_unlock(&c->lock);
	if (!first)
		return;
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, addr, DCACHE_READ, false, &b));
	memcpy(d->data + addr * BS, dcache_block_data(b), BS);
	dcache_clean(b);
	dcache_put(b, DCACHE_READ);
}

/* A long random sequence: contents match a model, invariants after every step. */
static void random_sequence_test(struct kunit *test)
{
	enum { NR_BLOCKS = 16, NR_ADDRS = 48, STEPS = 3000 };
	struct dcache *c = fake_cache(test, NR_BLOCKS, BS, 4);
	struct fake_disk *disks[2];
	u8 *model;
	struct rnd_state rnd;
	int step, i;

	disks[0] = fake_disk_add(test, c, NR_ADDRS);
	disks[1] = fake_disk_add(test, c, NR_ADDRS);
	model = kunit_kzalloc(test, 2 * NR_ADDRS, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, model);
	for (i = 0; i < 2 * NR_ADDRS; i++)
		model[i] = fake_block_byte(disks[i / NR_ADDRS]->part->id, i % NR_ADDRS);
	prandom_seed_state(&rnd, 7);

	for (step = 0; step < STEPS; step++) {
		int which = prandom_u32_state(&rnd) % 2;
		u64 addr = prandom_u32_state(&rnd) % NR_ADDRS;
		u8 *expect = &model[which * NR_ADDRS + addr];
		struct fake_disk *d = disks[which];
		enum dcache_access mode = prandom_u32_state(&rnd) % 3;
		struct dcache_block *b;
		u32 op = prandom_u32_state(&rnd) % 10;

		if (op == 0 || fake_nr_dirty(c) >= NR_BLOCKS - 1) {
			write_back_one(test, c, disks, 2);
		} else {
			KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, addr, mode, false, &b));
			if (mode != DCACHE_WRITE)
				KUNIT_ASSERT_TRUE_MSG(test, block_filled_with(b, BS, *expect),
						      "step %d: stale data at %d/%llu",
						      step, which, addr);
			if (mode != DCACHE_READ) {
				*expect = prandom_u32_state(&rnd);
				memset(dcache_block_data(b), *expect, BS);
				fake_mark_dirty_in(b, step);
			}
			dcache_put(b, mode);
		}
		KUNIT_ASSERT_EQ_MSG(test, 0, dcache_check(c), "after step %d", step);
	}
	while (fake_nr_dirty(c))
		write_back_one(test, c, disks, 2);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	KUNIT_EXPECT_GT(test, atomic64_read(&c->stats.evictions), 0);
}

/* Make every allocation step of create fail in turn: nothing may leak. */
static void create_allocation_failure_test(struct kunit *test)
{
	long before = dcache_live_allocations();
	struct dcache_config cfg = { .nr_blocks = 40, .block_size = 1024 };
	struct dcache *c;
	unsigned int n;

	for (n = 1; n < 100; n++) {
		cfg.fail_alloc_nth = n;
		c = dcache_create(&cfg);
		if (!IS_ERR(c))
			break;
		KUNIT_EXPECT_EQ(test, -ENOMEM, PTR_ERR(c));
		KUNIT_ASSERT_EQ_MSG(test, before, dcache_live_allocations(),
				    "leak after failing step %u", n);
	}
	/* 40 blocks of 1 KiB: 10 pages, so well over 10 steps were failed. */
	KUNIT_EXPECT_GT(test, n, 10U);
	KUNIT_ASSERT_FALSE(test, IS_ERR(c));
	KUNIT_EXPECT_GT(test, dcache_live_allocations(), before);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	dcache_destroy(c);
	KUNIT_EXPECT_EQ(test, before, dcache_live_allocations());
}

static void create_bad_config_test(struct kunit *test)
{
	static const struct dcache_config bad[] = {
		{ .nr_blocks = 0, .block_size = 4096 },
		{ .nr_blocks = 8, .block_size = 0 },
		{ .nr_blocks = 8, .block_size = 256 },
		{ .nr_blocks = 8, .block_size = 3000 },
		{ .nr_blocks = 8, .block_size = PAGE_SIZE * 2 },
		{ .nr_blocks = 8, .block_size = 4096, .hash_buckets = 3 },
		{ .nr_blocks = 8, .block_size = 4096, .max_dirty = 9 },
		{ .nr_blocks = 1ULL << 40, .block_size = 4096 },
	};
	long before = dcache_live_allocations();
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_EQ_MSG(test, -EINVAL, PTR_ERR(dcache_create(&bad[i])),
				    "config %d", i);
	KUNIT_EXPECT_EQ(test, before, dcache_live_allocations());
}

static void add_part_bad_block_size_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 4, 1024, 0);

	KUNIT_EXPECT_EQ(test, -EINVAL, PTR_ERR(dcache_add_part(c, NULL, 2048, NULL, NULL)));
	KUNIT_EXPECT_EQ(test, -EINVAL, PTR_ERR(dcache_add_part(c, NULL, 0, NULL, NULL)));
	KUNIT_EXPECT_EQ(test, -EINVAL, PTR_ERR(dcache_add_part(c, NULL, 700, NULL, NULL)));
}

static struct kunit_case dcache_lru_test_cases[] = {
	KUNIT_CASE(read_run_stops_at_gap_or_writer_test),
	KUNIT_CASE(read_run_counts_uncached_test),
	KUNIT_CASE(miss_run_pins_until_cached_test),
	KUNIT_CASE(miss_run_full_cache_test),
	KUNIT_CASE(try_get_new_test),
	KUNIT_CASE(miss_run_error_and_abandon_test),
	KUNIT_CASE(write_run_takes_idle_clean_blocks_test),
	KUNIT_CASE(uncached_write_claims_run_test),
	KUNIT_CASE(write_around_waits_for_discards_test),
	KUNIT_CASE(ahead_spares_blocks_used_twice_test),
	KUNIT_CASE(ahead_takes_free_blocks_only_with_lru_test),
	KUNIT_CASE(lru_scan_resistance_test),
	KUNIT_CASE(lru_first_access_rule_test),
	KUNIT_CASE(lru_tie_by_last_access_test),
	KUNIT_CASE(lru_tick_crosses_2_32_test),
	{}
};

static struct kunit_case dcache_core_test_cases[] = {
	KUNIT_CASE(hash_one_chain_test),
	KUNIT_CASE(hash_same_addr_two_parts_test),
	KUNIT_CASE(remove_part_keeps_others_test),
	KUNIT_CASE(remove_part_busy_test),
	KUNIT_CASE(mutex_taken_under_reclaim_test),
	KUNIT_CASE(get_read_loads_test),
	KUNIT_CASE(get_rdwr_loads_test),
	KUNIT_CASE(get_write_does_not_read_test),
	KUNIT_CASE(read_error_returned_and_retried_test),
	KUNIT_CASE(readers_share_test),
	KUNIT_CASE(writer_excludes_test),
	KUNIT_CASE(try_get_never_blocks_test),
	KUNIT_CASE(load_shared_test),
	KUNIT_CASE(load_async_error_test),
	KUNIT_CASE(full_cache_woken_by_put_test),
	KUNIT_CASE(full_cache_woken_by_clean_test),
	KUNIT_CASE(full_cache_interruptible_test),
	KUNIT_CASE(full_cache_no_wait_test),
	KUNIT_CASE(dirty_accounting_test),
	KUNIT_CASE(dirty_keeps_oldest_epoch_test),
	KUNIT_CASE(random_sequence_test),
	KUNIT_CASE(create_allocation_failure_test),
	KUNIT_CASE(create_bad_config_test),
	KUNIT_CASE(add_part_bad_block_size_test),
	{}
};

static struct kunit_suite dcache_lru_test_suite = {
	.name = "dcache_lru",
	.test_cases = dcache_lru_test_cases,
};

static struct kunit_suite dcache_core_test_suite = {
	.name = "dcache_core",
	.test_cases = dcache_core_test_cases,
};

kunit_test_suites(&dcache_lru_test_suite, &dcache_core_test_suite);
