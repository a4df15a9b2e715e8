// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: resizing a live pool. Growing adds usable blocks; shrinking
 * evicts clean blocks, writes back dirty ones (through a fake flusher that
 * completes a round at once) and keeps every block of the remaining pool;
 * sizes that are not whole chunks or exceed the maximum are refused.
 */
#include <kunit/test.h>

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
	KUNIT_CASE(resize_refused_test),
	{}
};

static struct kunit_suite dcache_resize_suite = {
	.name = "dcache_resize",
	.test_cases = dcache_resize_cases,
};

kunit_test_suites(&dcache_resize_suite);
