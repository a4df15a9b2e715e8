// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: flush epochs in the cache core and the stage builder: the dirty
 * list in epoch order, stages of exactly one epoch per device, closing
 * epochs, ordered writers held for an older stage, write-back start and
 * end (clean, retarget to the newer epoch, error), runs of adjacent blocks.
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/delay.h>

#include "dcache_core.h"
#include "fake_disk.h"

#define BS 512

static struct dcache_block *get_dirty(struct kunit *test, struct fake_disk *d,
				      u64 addr, u64 epoch)
{
	struct dcache_block *b;

	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, addr, DCACHE_RDWR, false, &b));
	fake_mark_dirty_in(b, epoch);
	return b;
}

static void dirty_at(struct kunit *test, struct fake_disk *d, u64 addr, u64 epoch)
{
	dcache_put(get_dirty(test, d, addr, epoch), DCACHE_RDWR);
}

static bool block_byte_is(struct dcache_block *b, u8 byte)
{
	const u8 *p = dcache_block_data(b);
	unsigned int i;

	for (i = 0; i < BS; i++)
		if (p[i] != byte)
			return false;
	return true;
}

static bool skip_nothing(struct dcache_part *part)
{
	return false;
}

static struct dcache_part *skipped_part;

static bool skip_one(struct dcache_part *part)
{
	return part == skipped_part;
}

/*
 * The epoch of the next stage: the oldest epoch up to @max_epoch that holds
 * a dirty block not being written, of a part that @skip does not exclude.
 * 0 if there is none: what the parts' writers have left to copy, read
 * from the dirty trees and discard queues under the mutex.
 */
static u64 next_stage(struct dcache *c, u64 max_epoch,
		      bool (*skip)(struct dcache_part *part))
{
	struct dcache_part *part;
	struct dcache_block *b;
	u64 epoch = 0;
	unsigned long id;

	mutex_lock(&c->lock);
	xa_for_each(&c->parts, id, part) {
		struct dcache_discard *d;

		if (skip && skip(part))
			continue;
		d = list_first_entry_or_null(&part->discards, struct dcache_discard, link);
		if (d && d->epoch <= max_epoch && (!epoch || d->epoch < epoch))
			epoch = d->epoch;
		for (b = dcache_first_dirty(part); b; b = dcache_next_dirty(b)) {
			if (b->epoch > max_epoch)
				break;
			if (test_bit(DCACHE_B_WRITING, &b->flags))
				continue;
			if (!epoch || b->epoch < epoch)
				epoch = b->epoch;
			break;
		}
	}
	mutex_unlock(&c->lock);
	return epoch;
}

/* Blocks dirtied out of epoch order still form stages oldest first. */
static void stages_in_epoch_order_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 16, BS, 0);
	struct fake_disk *d0 = fake_disk_add(test, c, 64);
	struct fake_disk *d1 = fake_disk_add(test, c, 64);
	u64 addrs[8];
	unsigned int n;

	dirty_at(test, d0, 9, 3);
	dirty_at(test, d1, 4, 2);
	dirty_at(test, d0, 1, 3);
	dirty_at(test, d0, 5, 2);
	dirty_at(test, d1, 7, 5);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));	/* includes list order */

	KUNIT_EXPECT_EQ(test, next_stage(c, 10, skip_nothing), 2ULL);
	KUNIT_EXPECT_EQ(test, next_stage(c, 1, skip_nothing), 0ULL);
	n = dcache_collect_stage(d0->part, 2, addrs, ARRAY_SIZE(addrs));
	KUNIT_ASSERT_EQ(test, n, 1U);
	KUNIT_EXPECT_EQ(test, addrs[0], 5ULL);
	n = dcache_collect_stage(d0->part, 3, addrs, ARRAY_SIZE(addrs));
	KUNIT_ASSERT_EQ(test, n, 2U);
	KUNIT_EXPECT_EQ(test, addrs[0], 9ULL);	/* first dirtied first */
	KUNIT_EXPECT_EQ(test, addrs[1], 1ULL);
	KUNIT_EXPECT_EQ(test, dcache_collect_stage(d1->part, 3, addrs, 8), 0U);
	KUNIT_EXPECT_EQ(test, dcache_collect_stage(d0->part, 3, addrs, 1), 1U);

	/* A skipped device's stages are passed over. */
	skipped_part = d0->part;
	dirty_at(test, d0, 2, 1);
	KUNIT_EXPECT_EQ(test, next_stage(c, 10, skip_nothing), 1ULL);
	KUNIT_EXPECT_EQ(test, next_stage(c, 10, skip_one), 2ULL);
	skipped_part = d1->part;
	KUNIT_EXPECT_EQ(test, next_stage(c, 10, skip_one), 1ULL);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* dirty_now takes the open epoch; closing moves later dirt to the next. */
static void close_epoch_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_block *b;
	u64 first = dcache_current_epoch(d->part);

	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 1, DCACHE_RDWR, false, &b));
	KUNIT_EXPECT_EQ(test, 0, dcache_mark_dirty(b, false, NULL));
	KUNIT_EXPECT_EQ(test, b->epoch, first);
	dcache_put(b, DCACHE_RDWR);
	KUNIT_EXPECT_EQ(test, dcache_close_epoch(d->part), first);
	KUNIT_EXPECT_EQ(test, dcache_current_epoch(d->part), first + 1);
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 2, DCACHE_RDWR, false, &b));
	KUNIT_EXPECT_EQ(test, 0, dcache_mark_dirty(b, false, NULL));
	KUNIT_EXPECT_EQ(test, b->epoch, first + 1);
	dcache_put(b, DCACHE_RDWR);
	KUNIT_EXPECT_EQ(test, next_stage(c, first, skip_nothing), first);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * Ordered: data of a closed epoch not yet copied must not be overwritten.
 * With no room for a kept version the writer waits (a stall) until its
 * write-back copy is taken, then goes on, and the block stays dirty in the
 * new epoch after the copy reaches the disk.
 */
static void ordered_writer_held_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_version *spare;
	struct dcache_block *b;
	struct page *copy;
	u64 e;

	dcache_set_dirty_percent(c, 1);		/* no room for kept versions */
	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 3, DCACHE_RDWR, false, &b));
	KUNIT_ASSERT_EQ(test, 0, dcache_mark_dirty(b, true, NULL));
	/* Same epoch: a writer may change it again. */
	KUNIT_EXPECT_EQ(test, 0, dcache_mark_dirty(b, true, NULL));
	dcache_put(b, DCACHE_RDWR);
	e = dcache_close_epoch(d->part);
	KUNIT_EXPECT_TRUE(test, dcache_write_must_wait(d->part, 3, true));
	KUNIT_EXPECT_FALSE(test, dcache_write_must_wait(d->part, 4, true));
	KUNIT_EXPECT_FALSE(test, dcache_write_must_wait(d->part, 3, false));

	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, 3, DCACHE_RDWR, false, &b));
	KUNIT_EXPECT_EQ(test, -ENOMEM, dcache_mark_dirty(b, true, NULL));
	spare = dcache_alloc_version(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, spare);
	KUNIT_EXPECT_EQ(test, -EAGAIN, dcache_mark_dirty(b, true, &spare));
	KUNIT_EXPECT_NOT_NULL(test, spare);	/* not taken */
	dcache_free_version(spare);
	/* The writer counts its stall once, not each refusal (io.c). */
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.cow_waits), 0LL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.stalls), 0LL);
	KUNIT_EXPECT_EQ(test, b->epoch, e);
	/* Write-back mode does not wait: the block keeps its oldest epoch. */
	KUNIT_EXPECT_EQ(test, 0, dcache_mark_dirty(b, false, NULL));
	KUNIT_EXPECT_EQ(test, b->epoch, e);
	dcache_unlock_block(b, DCACHE_RDWR);

	/* The stage takes its copy under the shared lock. */
	KUNIT_ASSERT_EQ(test, 0, dcache_lock_block(b, DCACHE_READ));
	copy = dcache_writeback_start(b);
	KUNIT_EXPECT_NULL(test, copy);
	dcache_unlock_block(b, DCACHE_READ);
	KUNIT_EXPECT_FALSE(test, dcache_write_must_wait(d->part, 3, true));
	KUNIT_ASSERT_EQ(test, 0, dcache_lock_block(b, DCACHE_RDWR));
	KUNIT_EXPECT_EQ(test, 0, dcache_mark_dirty(b, true, NULL));
	dcache_unlock_block(b, DCACHE_RDWR);
	KUNIT_EXPECT_EQ(test, next_stage(c, e, skip_nothing), 0ULL);

	/* The copy is on the disk; the newer data is dirty in the new epoch. */
	KUNIT_EXPECT_FALSE(test, dcache_writeback_end(b, 0, &copy));
	KUNIT_EXPECT_TRUE(test, dcache_block_dirty(b));
	KUNIT_EXPECT_EQ(test, b->epoch, e + 1);
	KUNIT_EXPECT_EQ(test, fake_nr_dirty(c), 1ULL);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	dcache_clean(b);
	dcache_unpin(b);
	KUNIT_EXPECT_EQ(test, fake_nr_dirty(c), 0ULL);
}

/* A failed write-back keeps the block dirty in its stage; success cleans. */
static void writeback_end_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_block *b = get_dirty(test, d, 6, 4);
	struct page *copy;

	dcache_unlock_block(b, DCACHE_RDWR);
	copy = dcache_writeback_start(b);
	KUNIT_EXPECT_EQ(test, next_stage(c, 10, skip_nothing), 0ULL);
	KUNIT_EXPECT_FALSE(test, dcache_writeback_end(b, -EIO, &copy));
	KUNIT_EXPECT_TRUE(test, dcache_block_dirty(b));
	KUNIT_EXPECT_EQ(test, b->epoch, 4ULL);
	KUNIT_EXPECT_NULL(test, b->kept);	/* unchanged: its data is the copy */
	KUNIT_EXPECT_EQ(test, next_stage(c, 10, skip_nothing), 4ULL);
	copy = dcache_writeback_start(b);
	KUNIT_EXPECT_TRUE(test, dcache_writeback_end(b, 0, &copy));
	KUNIT_EXPECT_FALSE(test, dcache_block_dirty(b));
	KUNIT_EXPECT_FALSE(test, test_bit(DCACHE_B_WRITING, &b->flags));

	/* Discarded while its copy was in flight: it stays forgotten. */
	KUNIT_ASSERT_EQ(test, 0, dcache_lock_block(b, DCACHE_RDWR));
	fake_mark_dirty_in(b, 5);
	copy = dcache_writeback_start(b);
	dcache_invalidate(b);
	dcache_unlock_block(b, DCACHE_RDWR);
	KUNIT_EXPECT_FALSE(test, dcache_writeback_end(b, 0, &copy));
	KUNIT_EXPECT_FALSE(test, dcache_block_dirty(b));
	dcache_unpin(b);
	KUNIT_EXPECT_EQ(test, fake_nr_dirty(c), 0ULL);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* A write of @byte to block @addr, with *@spare for copy-on-write if set. */
static void write_byte_spare(struct kunit *test, struct fake_disk *d, u64 addr,
			     u8 byte, bool ordered, struct dcache_version **spare,
			     int expect)
{
	struct dcache_block *b;
	int r;

	KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, addr, DCACHE_WRITE, false, &b));
	r = dcache_mark_dirty(b, ordered, spare);
	KUNIT_EXPECT_EQ_MSG(test, r, expect, "write of %#x to block %llu", byte, addr);
	if (!r)
		memset(dcache_block_data(b), byte, BS);
	dcache_put(b, DCACHE_WRITE);
}

static void write_byte(struct kunit *test, struct fake_disk *d, u64 addr,
		       u8 byte, bool ordered, int expect)
{
	write_byte_spare(test, d, addr, byte, ordered, NULL, expect);
}

static struct dcache_block *take_copy(struct kunit *test, struct fake_disk *d,
				      u64 addr, u64 epoch, struct page **copy)
{
	struct dcache_block *b;

	KUNIT_ASSERT_EQ(test, 0, dcache_get_for_copy(d->part, addr, epoch, &b));
	*copy = dcache_writeback_start(b);
	if (!*copy) {
		*copy = alloc_page(GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, *copy);
		memcpy(page_address(*copy), dcache_block_data(b), BS);
	}
	dcache_unlock_block(b, DCACHE_READ);
	return b;
}

static void end_copy(struct dcache_block *b, int error, struct page *copy)
{
	dcache_writeback_end(b, error, &copy);
	if (copy)
		__free_page(copy);
	dcache_unpin(b);
}

/* An ordered write that brings a spare version for copy-on-write. */
static void write_byte_cow(struct kunit *test, struct fake_disk *d, u64 addr,
			   u8 byte, int expect)
{
	struct dcache_version *spare = dcache_alloc_version(GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, spare);
	write_byte_spare(test, d, addr, byte, true, &spare, expect);
	dcache_free_version(spare);
}

/*
 * Ordered: a copy in flight covers only the data it took. A write in the
 * next epoch goes on; once that epoch closes too, the next writer keeps
 * that epoch's data as a version behind the copy in flight (or, given no
 * page, is asked for one). After the copy the block is dirty in the epoch
 * of its first newer write, not its last, and that version is its stage's.
 */
static void ordered_writer_held_while_copy_in_flight_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_block *b;
	struct page *copy;
	u64 e5, e6, e7;

	write_byte(test, d, 1, 0x55, true, 0);
	e5 = dcache_close_epoch(d->part);
	b = take_copy(test, d, 1, e5, &copy);
	write_byte(test, d, 1, 0x66, true, 0);	/* the copy is taken */
	e6 = dcache_close_epoch(d->part);
	e7 = dcache_close_epoch(d->part) + 1;
	KUNIT_EXPECT_FALSE(test, dcache_write_must_wait(d->part, 1, true));
	write_byte(test, d, 1, 0x88, true, -ENOMEM);
	write_byte_cow(test, d, 1, 0x88, 0);
	KUNIT_EXPECT_EQ(test, c->nr_versions, 1ULL);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	end_copy(b, 0, copy);
	KUNIT_EXPECT_TRUE(test, dcache_block_dirty(b));
	KUNIT_EXPECT_EQ(test, b->epoch, e6);
	KUNIT_EXPECT_EQ(test, next_stage(c, e6, skip_nothing), e6);
	KUNIT_EXPECT_TRUE(test, block_byte_is(b, 0x88));
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	b = take_copy(test, d, 1, e6, &copy);
	KUNIT_EXPECT_EQ(test, ((u8 *)page_address(copy))[0], 0x66);
	end_copy(b, 0, copy);
	KUNIT_EXPECT_EQ(test, b->epoch, e7);
	KUNIT_EXPECT_EQ(test, c->nr_kept, 0ULL);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * Write-back mode: data acknowledged before a flush must be in a stage of
 * that flush's round, so a block written during its copy keeps the epoch
 * of its first newer write even when later writes follow.
 */
static void writeback_keeps_first_newer_epoch_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_block *b;
	struct page *copy;
	u64 e1, e2;

	write_byte(test, d, 2, 0x11, false, 0);
	e1 = dcache_close_epoch(d->part);
	b = take_copy(test, d, 2, e1, &copy);
	write_byte(test, d, 2, 0x22, false, 0);
	e2 = dcache_close_epoch(d->part);
	dcache_close_epoch(d->part);
	write_byte(test, d, 2, 0x33, false, 0);
	end_copy(b, 0, copy);
	KUNIT_EXPECT_EQ(test, b->epoch, e2);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * A copy that fails after the block was written again is kept, and the
 * retry of its stage writes it, not the newer data; the newer data goes
 * in its own, later stage.
 */
static void failed_copy_retried_with_its_own_data_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_block *b;
	struct page *copy;
	u64 e5, e6;

	write_byte(test, d, 3, 0x55, true, 0);
	e5 = dcache_close_epoch(d->part);
	b = take_copy(test, d, 3, e5, &copy);
	write_byte(test, d, 3, 0x66, true, 0);
	e6 = dcache_close_epoch(d->part);
	end_copy(b, -EIO, copy);
	KUNIT_EXPECT_EQ(test, b->epoch, e5);
	KUNIT_EXPECT_EQ(test, next_stage(c, e6, skip_nothing), e5);
	/* Epoch 6's data is not copied: an ordered writer must keep it. */
	write_byte(test, d, 3, 0x77, true, -ENOMEM);

	b = take_copy(test, d, 3, e5, &copy);
	KUNIT_EXPECT_EQ(test, ((u8 *)page_address(copy))[0], 0x55);
	KUNIT_EXPECT_EQ(test, ((u8 *)page_address(copy))[BS - 1], 0x55);
	end_copy(b, 0, copy);
	KUNIT_EXPECT_EQ(test, b->epoch, e6);
	b = take_copy(test, d, 3, e6, &copy);
	KUNIT_EXPECT_EQ(test, ((u8 *)page_address(copy))[0], 0x66);
	end_copy(b, 0, copy);
	KUNIT_EXPECT_FALSE(test, dcache_block_dirty(b));
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * Ordered copy-on-write: a writer of a block that holds a closed epoch's
 * data not yet copied keeps that data for its stage and goes on, for as
 * many closed epochs as come; each version is written in its own stage,
 * oldest first, and the lag follows the oldest version not on the disk.
 */
static void ordered_rewrite_keeps_older_version_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 64, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	static const u8 bytes[] = { 0x66, 0x77, 0x88 };
	struct dcache_block *b;
	struct page *copy;
	u64 e5, e;
	unsigned int i;

	write_byte(test, d, 2, 0x55, true, 0);
	e5 = dcache_close_epoch(d->part);
	write_byte(test, d, 2, 0x66, true, -ENOMEM);	/* no spare: asked for one */
	write_byte_cow(test, d, 2, 0x66, 0);
	write_byte_cow(test, d, 2, 0x67, 0);		/* same epoch: no copy */
	KUNIT_EXPECT_EQ(test, c->nr_kept, 1ULL);
	KUNIT_EXPECT_EQ(test, c->nr_versions, 0ULL);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	dcache_close_epoch(d->part);
	write_byte_cow(test, d, 2, 0x77, 0);		/* a third version */
	dcache_close_epoch(d->part);
	write_byte_cow(test, d, 2, 0x88, 0);		/* and a fourth */
	KUNIT_EXPECT_EQ(test, c->nr_kept, 3ULL);
	KUNIT_EXPECT_EQ(test, c->nr_versions, 2ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.cow_copies), 3LL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&c->stats.cow_waits), 0LL);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));

	KUNIT_EXPECT_EQ(test, next_stage(c, e5 + 2, skip_nothing), e5);
	b = take_copy(test, d, 2, e5, &copy);
	KUNIT_EXPECT_EQ(test, ((u8 *)page_address(copy))[0], 0x55);
	KUNIT_EXPECT_EQ(test, ((u8 *)page_address(copy))[BS - 1], 0x55);
	KUNIT_EXPECT_TRUE(test, block_byte_is(b, 0x88));
	end_copy(b, 0, copy);
	for (i = 0; i < ARRAY_SIZE(bytes); i++) {
		e = e5 + 1 + i;
		KUNIT_EXPECT_TRUE(test, dcache_block_dirty(b));
		KUNIT_EXPECT_EQ(test, b->epoch, e);
		KUNIT_EXPECT_EQ(test, next_stage(c, e5 + 3, skip_nothing), e);
		KUNIT_EXPECT_EQ(test, c->nr_kept, 2ULL - min(i, 2U));
		b = take_copy(test, d, 2, e, &copy);
		/* The stage of 0x66's epoch writes its last write, 0x67. */
		KUNIT_EXPECT_EQ(test, ((u8 *)page_address(copy))[0], i ? bytes[i] : 0x67);
		KUNIT_EXPECT_EQ(test, ((u8 *)page_address(copy))[BS - 1],
				i ? bytes[i] : 0x67);
		end_copy(b, 0, copy);
		KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
	}
	KUNIT_EXPECT_FALSE(test, dcache_block_dirty(b));
	KUNIT_EXPECT_EQ(test, c->nr_kept, 0ULL);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * Kept versions count against the dirty budget: they take what dirty
 * blocks leave of it (at least a quarter). When that is spent an ordered
 * writer of a block that needs one waits (a stall, counted in cow_waits
 * too), and goes on once a stage's copy gives a page back; a block that
 * needs no version is not held.
 */
static void ordered_versions_bounded_by_budget_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 16, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_block *b;
	struct page *copy;
	u64 addr, e1;

	dcache_set_dirty_percent(c, 50);	/* 8 dirty blocks */
	for (addr = 1; addr <= 5; addr++)
		write_byte(test, d, addr, 0x10 * addr + 1, true, 0);
	e1 = dcache_close_epoch(d->part);
	/* 5 dirty leave 3 of 8, more than a quarter (2). */
	for (addr = 1; addr <= 3; addr++)
		write_byte_cow(test, d, addr, 0x10 * addr + 2, 0);
	KUNIT_EXPECT_EQ(test, c->nr_kept, 3ULL);
	KUNIT_EXPECT_TRUE(test, dcache_write_must_wait(d->part, 4, true));
	KUNIT_EXPECT_FALSE(test, dcache_write_must_wait(d->part, 6, true));
	write_byte_cow(test, d, 4, 0x42, -EAGAIN);

	b = take_copy(test, d, 1, e1, &copy);		/* takes a kept page */
	KUNIT_EXPECT_EQ(test, ((u8 *)page_address(copy))[0], 0x11);
	KUNIT_EXPECT_FALSE(test, dcache_write_must_wait(d->part, 4, true));
	write_byte_cow(test, d, 4, 0x42, 0);
	end_copy(b, 0, copy);
	KUNIT_EXPECT_EQ(test, c->nr_kept, 3ULL);

	/* 7 dirty leave 1: the quarter still holds for ordered writers. */
	write_byte_cow(test, d, 6, 0x61, 0);		/* clean: no version needed */
	write_byte_cow(test, d, 7, 0x71, 0);
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 7ULL);
	KUNIT_EXPECT_TRUE(test, dcache_write_must_wait(d->part, 5, true));
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* A kept older version whose write fails is kept again for the retry. */
static void ordered_kept_version_retried_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_block *b;
	struct page *copy;
	u64 e5, e6;

	write_byte(test, d, 5, 0x55, true, 0);
	e5 = dcache_close_epoch(d->part);
	write_byte_cow(test, d, 5, 0x66, 0);
	e6 = dcache_close_epoch(d->part);
	b = take_copy(test, d, 5, e5, &copy);
	end_copy(b, -EIO, copy);
	KUNIT_EXPECT_EQ(test, b->epoch, e5);
	KUNIT_EXPECT_EQ(test, c->nr_kept, 1ULL);
	b = take_copy(test, d, 5, e5, &copy);
	KUNIT_EXPECT_EQ(test, ((u8 *)page_address(copy))[0], 0x55);
	end_copy(b, 0, copy);
	KUNIT_EXPECT_EQ(test, b->epoch, e6);
	KUNIT_EXPECT_TRUE(test, block_byte_is(b, 0x66));
	KUNIT_EXPECT_EQ(test, c->nr_kept, 0ULL);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * The lag shown in the status: the age of the oldest data not on the disk,
 * from the first write of the block's oldest dirty version; after that
 * version's copy, from the first write of the next one; 0 when clean.
 */
static void lag_follows_oldest_version_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_block *b;
	struct page *copy;
	unsigned int lag;
	u64 e1;

	KUNIT_EXPECT_EQ(test, dcache_part_lag_ms(d->part), 0U);
	write_byte(test, d, 7, 0x11, true, 0);
	msleep(300);
	lag = dcache_part_lag_ms(d->part);
	KUNIT_EXPECT_GE(test, lag, 300U);
	KUNIT_EXPECT_LT(test, lag, 30000U);
	e1 = dcache_close_epoch(d->part);
	b = take_copy(test, d, 7, e1, &copy);
	write_byte(test, d, 7, 0x22, true, 0);	/* the next version, now */
	end_copy(b, 0, copy);
	KUNIT_EXPECT_TRUE(test, dcache_block_dirty(b));
	KUNIT_EXPECT_LT(test, dcache_part_lag_ms(d->part), lag);
	b = take_copy(test, d, 7, e1 + 1, &copy);
	end_copy(b, 0, copy);
	KUNIT_EXPECT_EQ(test, dcache_part_lag_ms(d->part), 0U);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * Ordered discards: a block holding data of a closed epoch not yet copied
 * makes the discard wait; otherwise the cached blocks are forgotten and
 * the discard is queued for the open epoch's stage, after older stages.
 */
static void ordered_discard_waits_and_queues_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	/* Once queued the part owns it: not a KUnit allocation. */
	struct dcache_discard *q = kzalloc(sizeof(*q), GFP_KERNEL);
	struct dcache_block *b;
	struct page *copy;
	LIST_HEAD(taken);
	u64 e1, e2, qe = 0;
	bool queued;

	KUNIT_ASSERT_NOT_NULL(test, q);
	write_byte(test, d, 4, 0x44, true, 0);
	e1 = dcache_close_epoch(d->part);
	KUNIT_EXPECT_EQ(test, -EAGAIN, dcache_discard_range(d->part, 0, 16, q, &qe));
	KUNIT_EXPECT_EQ(test, fake_nr_dirty(c), 1ULL);
	b = take_copy(test, d, 4, e1, &copy);
	end_copy(b, 0, copy);
	e2 = dcache_current_epoch(d->part);
	queued = !dcache_discard_range(d->part, 0, 16, q, &qe);
	KUNIT_EXPECT_TRUE(test, queued);
	if (!queued) {
		kfree(q);
		return;
	}
	KUNIT_EXPECT_EQ(test, qe, e2);
	KUNIT_EXPECT_EQ(test, dcache_oldest_dirty_epoch(d->part), e2);
	KUNIT_EXPECT_EQ(test, next_stage(c, e1, skip_nothing), 0ULL);
	KUNIT_EXPECT_EQ(test, next_stage(c, e2, skip_nothing), e2);
	dcache_take_discards(d->part, e2, &taken);
	KUNIT_EXPECT_PTR_EQ(test, list_first_entry_or_null(&taken, struct dcache_discard, link), q);
	list_del(&q->link);
	kfree(q);
	KUNIT_EXPECT_EQ(test, dcache_oldest_dirty_epoch(d->part), U64_MAX);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* Runs of adjacent addresses make one bio each, cut at the size limit. */
static void run_length_test(struct kunit *test)
{
	static const u64 addrs[] = { 3, 4, 5, 7, 8, 10, 11, 12, 13 };
	static u64 long_run[300];
	unsigned int i;

	KUNIT_EXPECT_EQ(test, dcache_run_length(addrs, 9, 256), 3U);
	KUNIT_EXPECT_EQ(test, dcache_run_length(addrs + 3, 6, 256), 2U);
	KUNIT_EXPECT_EQ(test, dcache_run_length(addrs + 5, 4, 256), 4U);
	KUNIT_EXPECT_EQ(test, dcache_run_length(addrs + 5, 4, 3), 3U);
	KUNIT_EXPECT_EQ(test, dcache_run_length(addrs + 8, 1, 256), 1U);
	for (i = 0; i < ARRAY_SIZE(long_run); i++)
		long_run[i] = 1000 + i;
	KUNIT_EXPECT_EQ(test, dcache_run_length(long_run, 300, 256), 256U);
	KUNIT_EXPECT_EQ(test, dcache_run_length(long_run + 256, 44, 256), 44U);
}

/* Each part has its own epochs: closing one leaves the other's open. */
static void epochs_per_part_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *a = fake_disk_add(test, c, 64);
	struct fake_disk *b = fake_disk_add(test, c, 64);
	u64 ea = dcache_current_epoch(a->part), eb = dcache_current_epoch(b->part);

	KUNIT_EXPECT_EQ(test, dcache_close_epoch(a->part), ea);
	KUNIT_EXPECT_EQ(test, dcache_close_epoch(a->part), ea + 1);
	KUNIT_EXPECT_EQ(test, dcache_current_epoch(a->part), ea + 2);
	KUNIT_EXPECT_EQ(test, dcache_current_epoch(b->part), eb);
	write_byte(test, b, 1, 0x11, true, 0);
	dcache_close_epoch(a->part);
	/* Another part's flush does not close b's epoch: b's writer goes on. */
	KUNIT_EXPECT_FALSE(test, dcache_write_must_wait(b->part, 1, true));
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * Members of a group share one epoch sequence, from the larger of theirs;
 * a member that leaves goes on from the group's; the last one frees it.
 */
static void group_shares_epochs_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *a = fake_disk_add(test, c, 64);
	struct fake_disk *b = fake_disk_add(test, c, 64);
	struct fake_disk *other = fake_disk_add(test, c, 64);
	u64 e;

	dcache_close_epoch(b->part);
	dcache_close_epoch(b->part);
	KUNIT_ASSERT_EQ(test, 0, dcache_part_join_group(a->part, "db"));
	KUNIT_ASSERT_EQ(test, 0, dcache_part_join_group(b->part, "db"));
	KUNIT_ASSERT_EQ(test, 0, dcache_part_join_group(other->part, "other"));
	KUNIT_EXPECT_EQ(test, -EEXIST, dcache_part_join_group(a->part, "db"));
	KUNIT_EXPECT_EQ(test, -EINVAL, dcache_part_join_group(other->part, ""));
	KUNIT_EXPECT_STREQ(test, dcache_part_group_name(a->part), "db");
	e = dcache_current_epoch(a->part);
	KUNIT_EXPECT_EQ(test, e, 3ULL);
	KUNIT_EXPECT_EQ(test, dcache_current_epoch(b->part), e);
	KUNIT_EXPECT_EQ(test, dcache_close_epoch(b->part), e);
	KUNIT_EXPECT_EQ(test, dcache_current_epoch(a->part), e + 1);
	KUNIT_EXPECT_EQ(test, dcache_current_epoch(other->part), 1ULL);
	dcache_part_leave_group(a->part);
	KUNIT_EXPECT_NULL(test, dcache_part_group_name(a->part));
	KUNIT_EXPECT_EQ(test, dcache_current_epoch(a->part), e + 1);
	dcache_close_epoch(a->part);
	KUNIT_EXPECT_EQ(test, dcache_current_epoch(b->part), e + 1);
	dcache_part_leave_group(b->part);
	dcache_part_leave_group(other->part);
	KUNIT_EXPECT_TRUE(test, list_empty(&c->groups));
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/*
 * A member begins the stage of epoch k only once the others have nothing
 * older than k dirty, queued, or written and not yet flushed; a member
 * with older dirt is kicked. Out of a group, always.
 */
static void group_stage_waits_for_older_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 8, BS, 0);
	struct fake_disk *a = fake_disk_add(test, c, 64);
	struct fake_disk *b = fake_disk_add(test, c, 64);
	struct dcache_block *blk;
	struct page *copy;
	u64 e1, e2;

	KUNIT_ASSERT_EQ(test, 0, dcache_part_join_group(a->part, "g"));
	KUNIT_ASSERT_EQ(test, 0, dcache_part_join_group(b->part, "g"));
	write_byte(test, b, 5, 0x55, true, 0);
	e1 = dcache_close_epoch(a->part);
	write_byte(test, a, 6, 0x66, true, 0);
	e2 = dcache_close_epoch(a->part);
	KUNIT_EXPECT_FALSE(test, dcache_begin_stage(a->part, e2));
	KUNIT_EXPECT_TRUE(test, dcache_begin_stage(b->part, e1));
	blk = take_copy(test, b, 5, e1, &copy);
	end_copy(blk, 0, copy);
	/* Written, not yet flushed: a's stage still waits. */
	KUNIT_EXPECT_FALSE(test, dcache_begin_stage(a->part, e2));
	dcache_stage_durable(b->part);
	KUNIT_EXPECT_TRUE(test, dcache_begin_stage(a->part, e2));
	/* b may begin the same epoch's stage beside a's. */
	KUNIT_EXPECT_TRUE(test, dcache_begin_stage(b->part, e2));
	dcache_stage_durable(a->part);
	dcache_stage_durable(b->part);
	dcache_part_leave_group(b->part);
	write_byte(test, b, 7, 0x77, true, 0);
	KUNIT_EXPECT_TRUE(test, dcache_begin_stage(a->part, dcache_close_epoch(a->part)));
	dcache_stage_durable(a->part);
	dcache_part_leave_group(a->part);
}

static struct kunit_case dcache_epoch_cases[] = {
	KUNIT_CASE(stages_in_epoch_order_test),
	KUNIT_CASE(close_epoch_test),
	KUNIT_CASE(ordered_writer_held_test),
	KUNIT_CASE(writeback_end_test),
	KUNIT_CASE(ordered_writer_held_while_copy_in_flight_test),
	KUNIT_CASE(writeback_keeps_first_newer_epoch_test),
	KUNIT_CASE(failed_copy_retried_with_its_own_data_test),
	KUNIT_CASE(ordered_rewrite_keeps_older_version_test),
	KUNIT_CASE(ordered_versions_bounded_by_budget_test),
	KUNIT_CASE(ordered_kept_version_retried_test),
	KUNIT_CASE(lag_follows_oldest_version_test),
	KUNIT_CASE(ordered_discard_waits_and_queues_test),
	KUNIT_CASE(run_length_test),
	KUNIT_CASE(epochs_per_part_test),
	KUNIT_CASE(group_shares_epochs_test),
	KUNIT_CASE(group_stage_waits_for_older_test),
	{}
};

static struct kunit_suite dcache_epoch_suite = {
	.name = "dcache_epoch",
	.test_cases = dcache_epoch_cases,
};

kunit_test_suites(&dcache_epoch_suite);
