// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: resizing a live pool. Growing adds usable blocks; shrinking
 * evicts clean blocks, writes back dirty ones (through a fake flusher that
 * completes a round at once) and keeps every block of the remaining pool;
 * a shrink waits for a load ahead in flight in the chunk that goes;
 * sizes that are not whole chunks or exceed the maximum are refused.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/workqueue.h>

#include "dcache_core.h"
#include "fake_disk.h"

#define BS 512
#define CHUNK DCACHE_CHUNK_BLOCKS

static struct dcache *resizable_cache(struct kunit *test, u64 nr, u64 max)
{
	struct dcache_config cfg = {
		.nr_blocks = nr, .max_blocks = max, .block_size = BS,
	};

	return fake_cache_cfg(test, &cfg);
}

/* A round of the fake flusher: every dirty block reaches the "disk". */
static int fake_wait_round(struct dcache *c)
{
	struct dcache_block *batch[16];
	struct dcache_part *part;
	struct rb_node *node;
	unsigned int n, i;
	struct page *copy;
	unsigned long id;

	do {
		n = 0;
		mutex_lock(&c->lock);
		xa_for_each(&c->parts, id, part)
			for (node = rb_first_cached(&part->dirty); node; node = rb_next(node)) {
				if (n == ARRAY_SIZE(batch))
					break;
				batch[n++] = rb_entry(node, struct dcache_block, dirty_node);
			}
		mutex_unlock(&c->lock);
		/* Dirty blocks are never evicted, so the pointers stay good. */
		for (i = 0; i < n; i++) {
			copy = dcache_writeback_start(batch[i]);
			dcache_writeback_end(batch[i], 0, &copy);
			if (copy)
				__free_page(copy);
		}
	} while (n);
	return 0;
}

static void fake_kick(struct dcache *c, struct dcache_part *part)
{
}

static const struct dcache_flush_ops fake_flush_ops = {
	.kick = fake_kick,
	.kick_delayed = fake_kick,
	.wait_round = fake_wait_round,
};

static void read_blocks(struct kunit *test, struct fake_disk *d, u64 from, u64 n)
{
	struct dcache_block *b;
	u64 a;

	for (a = from; a < from + n; a++) {
		KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, a, DCACHE_READ, false, &b));
		dcache_put(b, DCACHE_READ);
	}
}

static void resize_grow_test(struct kunit *test)
{
	struct dcache *c = resizable_cache(test, CHUNK, 4 * CHUNK);
	struct fake_disk *d = fake_disk_add(test, c, 8 * CHUNK);

	read_blocks(test, d, 0, CHUNK);
	KUNIT_ASSERT_EQ(test, 0, dcache_resize(c, 3 * CHUNK));
	KUNIT_EXPECT_EQ(test, c->nr_blocks, 3ULL * CHUNK);
	KUNIT_EXPECT_EQ(test, fake_nr_free(c), 2ULL * CHUNK);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	/* The new blocks take new data without evicting the old. */
	read_blocks(test, d, CHUNK, 2 * CHUNK);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.evictions), 0);
	KUNIT_EXPECT_EQ(test, d->part->nr_blocks, 3ULL * CHUNK);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

static void resize_shrink_clean_test(struct kunit *test)
{
	struct dcache *c = resizable_cache(test, 3 * CHUNK, 3 * CHUNK);
	struct fake_disk *d = fake_disk_add(test, c, 8 * CHUNK);

	read_blocks(test, d, 0, 2 * CHUNK);
	KUNIT_ASSERT_EQ(test, 0, dcache_resize(c, CHUNK));
	KUNIT_EXPECT_EQ(test, c->nr_blocks, (u64)CHUNK);
	KUNIT_EXPECT_EQ(test, c->nr_retired, 0ULL);
	KUNIT_EXPECT_LE(test, d->part->nr_blocks, (u64)CHUNK);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	/* What is left still works: a scan evicts within the smaller pool. */
	read_blocks(test, d, 4 * CHUNK, 2 * CHUNK);
	KUNIT_EXPECT_EQ(test, d->part->nr_blocks, (u64)CHUNK);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	/* And it grows back. */
	KUNIT_ASSERT_EQ(test, 0, dcache_resize(c, 2 * CHUNK));
	KUNIT_EXPECT_EQ(test, fake_nr_free(c), (u64)CHUNK);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* Dirty blocks of the chunk that goes are written back, never dropped. */
static void resize_shrink_dirty_test(struct kunit *test)
{
	struct dcache *c = resizable_cache(test, 2 * CHUNK, 2 * CHUNK);
	struct fake_disk *d = fake_disk_add(test, c, 4 * CHUNK);
	struct dcache_block *b;
	u64 a;

	c->flush_ops = &fake_flush_ops;
	for (a = 0; a < 2 * CHUNK; a++) {
		KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, a, DCACHE_WRITE, false, &b));
		memset(dcache_block_data(b), 0x5a, BS);
		fake_mark_dirty_in(b, 1);
		dcache_put(b, DCACHE_WRITE);
	}
	KUNIT_EXPECT_EQ(test, fake_nr_dirty(c), 2ULL * CHUNK);
	KUNIT_ASSERT_EQ(test, 0, dcache_resize(c, CHUNK));
	KUNIT_EXPECT_EQ(test, c->nr_blocks, (u64)CHUNK);
	KUNIT_EXPECT_EQ(test, fake_nr_dirty(c), 0ULL);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	c->flush_ops = NULL;
}

struct resize_work {
	struct work_struct work;
	struct dcache *c;
	u64 nr_blocks;
	int result;
	struct completion done;
};

static void resize_fn(struct work_struct *work)
{
	struct resize_work *w = container_of(work, struct resize_work, work);

	w->result = dcache_resize(w->c, w->nr_blocks);
	complete(&w->done);
}

/*
 * A load ahead in flight while the pool shrinks: the chunk that goes
 * waits for the pins of the blocks loading in it, and once the load
 * ends they hold the disk's data, in the pool or gone from it.
 */
static void resize_during_ahead_test(struct kunit *test)
{
	struct dcache *c = resizable_cache(test, 2 * CHUNK, 2 * CHUNK);
	struct fake_disk *d = fake_disk_add(test, c, 8 * CHUNK);
	struct resize_work w = { .c = c, .nr_blocks = CHUNK };
	struct dcache_block *run[8], *b;
	unsigned int n, i, retiring = 0;

	read_blocks(test, d, 0, CHUNK);
	n = dcache_pin_ahead_run(d->part, 4 * CHUNK, 8, run);
	KUNIT_ASSERT_EQ(test, n, 8U);
	for (i = 0; i < n; i++)
		retiring += run[i]->index >= CHUNK;
	/* Free blocks of the second chunk: the one that goes. */
	KUNIT_ASSERT_GT(test, retiring, 0U);
	INIT_WORK_ONSTACK(&w.work, resize_fn);
	init_completion(&w.done);
	queue_work(system_unbound_wq, &w.work);
	KUNIT_EXPECT_EQ(test, 0UL, wait_for_completion_timeout(&w.done, HZ / 5));
	KUNIT_EXPECT_EQ(test, 0, fake_disk_fill_run(d, run, n));
	dcache_load_run_end(run, n, 0);
	dcache_unpin_run(run, n);
	KUNIT_EXPECT_NE(test, 0UL, wait_for_completion_timeout(&w.done, 30 * HZ));
	flush_work(&w.work);
	destroy_work_on_stack(&w.work);
	KUNIT_EXPECT_EQ(test, 0, w.result);
	KUNIT_EXPECT_EQ(test, c->nr_blocks, (u64)CHUNK);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	for (i = 0; i < n; i++) {
		u64 addr = 4 * CHUNK + i;

		KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, addr, DCACHE_READ, false, &b));
		KUNIT_EXPECT_TRUE(test, !memchr_inv(dcache_block_data(b),
						    fake_block_byte(d->part->id, addr), BS));
		dcache_put(b, DCACHE_READ);
	}
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

static void resize_refused_test(struct kunit *test)
{
	struct dcache *c = resizable_cache(test, CHUNK, 2 * CHUNK);

	KUNIT_EXPECT_EQ(test, -EINVAL, dcache_resize(c, 0));
	KUNIT_EXPECT_EQ(test, -EINVAL, dcache_resize(c, CHUNK + 1));
	KUNIT_EXPECT_EQ(test, -EINVAL, dcache_resize(c, 3 * CHUNK));
	KUNIT_EXPECT_EQ(test, c->nr_blocks, (u64)CHUNK);
	/* A pool that is not whole chunks (tests' small ones) cannot resize. */
	c = resizable_cache(test, 8, 2 * CHUNK);
	KUNIT_EXPECT_EQ(test, -EINVAL, dcache_resize(c, CHUNK));
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

static struct kunit_case dcache_resize_cases[] = {
	KUNIT_CASE(resize_grow_test),
	KUNIT_CASE(resize_shrink_clean_test),
	KUNIT_CASE(resize_shrink_dirty_test),
	KUNIT_CASE(resize_during_ahead_test),
	KUNIT_CASE(resize_refused_test),
	{}
};

static struct kunit_suite dcache_resize_suite = {
	.name = "dcache_resize",
	.test_cases = dcache_resize_cases,
};

kunit_test_suites(&dcache_resize_suite);
