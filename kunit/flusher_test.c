// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the real flusher (flush.c) over fake disks: flushes owed until
 * one succeeds, durable epochs that never go back, deadlines for blocks
 * left dirty by a copy, suspended writers left out, one device's dead disk
 * kept to its share of the pool, ordered discards in their stage, and
 * max_age_ms's hold on writers.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/workqueue.h>

#include "dcache_core.h"
#include "dcache_flush.h"
#include "fake_disk.h"

#define BS 512

struct flush_call {
	struct work_struct work;
	struct dcache_writer *wr;
	struct completion done;
	int result;
};

static void flush_call_fn(struct work_struct *work)
{
	struct flush_call *f = container_of(work, struct flush_call, work);

	f->result = dcache_writer_flush(f->wr);
	complete(&f->done);
}

/* dcache_writer_flush() from a worker, so the test can act meanwhile. */
static void flush_async(struct flush_call *f, struct dcache_writer *wr)
{
	f->wr = wr;
	init_completion(&f->done);
	INIT_WORK_ONSTACK(&f->work, flush_call_fn);
	queue_work(system_unbound_wq, &f->work);
}

static int flush_wait(struct kunit *test, struct flush_call *f)
{
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&f->done, 20 * HZ));
	destroy_work_on_stack(&f->work);
	return f->result;
}

/* Wait until @n block writes are held in flight on @d. */
static void wait_held(struct kunit *test, struct fake_disk *d, int n)
{
	int i;

	for (i = 0; i < 250 && atomic_read(&d->held_writes) < n; i++)
		msleep(20);
	KUNIT_ASSERT_GE(test, atomic_read(&d->held_writes), n);
}

static int write_block(struct fake_disk *d, u64 addr, u8 byte, bool ordered)
{
	struct dcache_block *b;
	int r;

	r = dcache_get(d->part, addr, DCACHE_WRITE, false, &b);
	if (r)
		return r;
	r = dcache_mark_dirty(b, ordered, NULL);
	if (!r)
		memset(dcache_block_data(b), byte, BS);
	else if (!dcache_block_dirty(b))
		dcache_invalidate(b);	/* got for a whole write: no data */
	dcache_put(b, DCACHE_WRITE);
	return r;
}

static u8 durable_byte(struct fake_disk *d, u64 addr)
{
	return d->durable[addr * BS];
}

static u8 disk_byte(struct fake_disk *d, u64 addr)
{
	return d->data[addr * BS];
}

/*
 * A failed flush of the disk is owed until one succeeds: the blocks
 * reached the disk, so the next flush has nothing to write, but must
 * still flush before it may return 0.
 */
static void failed_flush_is_owed_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 16, BS, 0);
	struct dcache_flusher *fl = fake_flusher(test, c);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_writer *wr = fake_writer(test, fl, d);

	KUNIT_ASSERT_EQ(test, 0, write_block(d, 5, 0xa5, false));
	d->fail_flushes = true;
	KUNIT_EXPECT_EQ(test, -EIO, dcache_writer_flush(wr));
	KUNIT_EXPECT_EQ(test, disk_byte(d, 5), 0xa5);
	KUNIT_EXPECT_NE(test, durable_byte(d, 5), 0xa5);
	KUNIT_EXPECT_EQ(test, -EIO, dcache_writer_flush(wr));
	d->fail_flushes = false;
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(wr));
	KUNIT_EXPECT_EQ(test, durable_byte(d, 5), 0xa5);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->flushes), 1);
	/* Nothing owed now: an idle flush sends nothing down. */
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(wr));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->flushes), 1);
}

/* Writes that went to the disk without write-back still owe a flush. */
static void write_through_owes_flush_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 16, BS, 0);
	struct dcache_flusher *fl = fake_flusher(test, c);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_writer *wr = fake_writer(test, fl, d);

	dcache_writer_owe_flush(wr);
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(wr));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->flushes), 1);
	/* A disk without a volatile cache needs none. */
	d->volatile_cache = false;
	dcache_writer_owe_flush(wr);
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(wr));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->flushes), 1);
}

/*
 * A sick device's retries of an old epoch never pull a healthy device's
 * durable epoch back, not even for the length of a stage, and never wait
 * for the healthy device's slow write-back.
 */
static void durable_epoch_never_shrinks_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 32, BS, 0);
	struct dcache_flusher *fl = fake_flusher(test, c);
	struct fake_disk *sick = fake_disk_add(test, c, 64);
	struct fake_disk *well = fake_disk_add(test, c, 64);
	struct dcache_writer *sick_wr = fake_writer(test, fl, sick);
	struct dcache_writer *well_wr = fake_writer(test, fl, well);
	struct flush_call f;
	s64 before;
	int i;

	sick->fail_writes = true;
	KUNIT_ASSERT_EQ(test, 0, write_block(sick, 1, 0x51, false));
	KUNIT_EXPECT_EQ(test, -EIO, dcache_writer_flush(sick_wr));
	for (i = 0; i < 5; i++) {
		KUNIT_ASSERT_EQ(test, 0, write_block(well, i, 0x60 + i, false));
		KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(well_wr));
	}
	before = atomic64_read(&well_wr->durable_epoch);
	KUNIT_EXPECT_GT(test, before, 2);

	/* The sick device's rounds keep failing while the well one's is held. */
	KUNIT_ASSERT_EQ(test, 0, write_block(well, 9, 0x69, false));
	well->hold_writes = true;
	flush_async(&f, well_wr);
	wait_held(test, well, 1);
	KUNIT_EXPECT_EQ(test, -EIO, dcache_writer_flush(sick_wr));
	KUNIT_EXPECT_GE(test, atomic64_read(&well_wr->durable_epoch), before);
	well->hold_writes = false;
	fake_disk_end_writes(well, 0);
	KUNIT_EXPECT_EQ(test, 0, flush_wait(test, &f));
	KUNIT_EXPECT_GT(test, atomic64_read(&well_wr->durable_epoch), before);
	KUNIT_EXPECT_EQ(test, durable_byte(well, 9), 0x69);
	sick->fail_writes = false;
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(sick_wr));
	KUNIT_EXPECT_EQ(test, durable_byte(sick, 1), 0x51);
}

/* A block written during its copy stays dirty and gets a round deadline. */
static void redirtied_block_gets_deadline_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 16, BS, 0);
	struct dcache_flusher *fl = fake_flusher(test, c);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_writer *wr = fake_writer(test, fl, d);
	struct flush_call f;

	KUNIT_ASSERT_EQ(test, 0, write_block(d, 7, 0x70, false));
	d->hold_writes = true;
	flush_async(&f, wr);
	wait_held(test, d, 1);
	KUNIT_ASSERT_EQ(test, 0, write_block(d, 7, 0x71, false));
	d->hold_writes = false;
	fake_disk_end_writes(d, 0);
	KUNIT_EXPECT_EQ(test, 0, flush_wait(test, &f));
	KUNIT_EXPECT_EQ(test, d->part->nr_dirty, 1ULL);
	KUNIT_EXPECT_NE(test, dcache_kick_deadline(&wr->kick), 0UL);
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(wr));
	KUNIT_EXPECT_EQ(test, durable_byte(d, 7), 0x71);
}

/* A suspended device's disk is not written until it resumes. */
static void suspended_writer_left_out_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 16, BS, 0);
	struct dcache_flusher *fl = fake_flusher(test, c);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_writer *wr = fake_writer(test, fl, d);

	KUNIT_ASSERT_EQ(test, 0, write_block(d, 3, 0x33, false));
	dcache_writer_suspend(wr, true);
	KUNIT_EXPECT_EQ(test, -EIO, dcache_writer_flush(wr));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->writes), 0);
	dcache_writer_suspend(wr, false);
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(wr));
	KUNIT_EXPECT_EQ(test, durable_byte(d, 3), 0x33);
}

/*
 * A device whose disk fails every write holds at most its share of the
 * pool dirty; beyond it its writers fail, and another device still
 * caches and dirties blocks.
 */
static void dead_disk_kept_to_its_share_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 16, BS, 0);
	struct dcache_flusher *fl = fake_flusher(test, c);
	struct fake_disk *dead = fake_disk_add(test, c, 64);
	struct fake_disk *well = fake_disk_add(test, c, 64);
	struct dcache_writer *dead_wr = fake_writer(test, fl, dead);
	struct dcache_writer *well_wr = fake_writer(test, fl, well);
	u64 a;
	int r = 0;

	dcache_set_part_dirty_percent(c, 50);
	dead->fail_writes = true;
	for (a = 0; a < 8; a++)
		KUNIT_ASSERT_EQ(test, 0, write_block(dead, a, 0xd0, false));
	/* Its share is spent: wait for write-back, which fails. */
	KUNIT_EXPECT_EQ(test, -ENOSPC, write_block(dead, 8, 0xd0, false));
	KUNIT_EXPECT_EQ(test, -EIO, dcache_writer_flush(dead_wr));
	KUNIT_EXPECT_EQ(test, -EIO, write_block(dead, 8, 0xd0, false));
	KUNIT_EXPECT_EQ(test, -EIO, dcache_writer_wait(dead_wr, 8, false));
	/* Its dirty blocks may still be rewritten in place. */
	KUNIT_EXPECT_EQ(test, 0, write_block(dead, 0, 0xd1, false));
	for (a = 0; a < 8 && !r; a++)
		r = write_block(well, a, 0x80, false);
	KUNIT_EXPECT_EQ(test, 0, r);
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(well_wr));
	KUNIT_EXPECT_EQ(test, durable_byte(well, 7), 0x80);
	KUNIT_EXPECT_EQ(test, dead->part->nr_dirty, 8ULL);
	KUNIT_EXPECT_EQ(test, 8ULL, dcache_drop_part_dirty(dead->part));
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

/* Dirty @nr blocks, none adjacent, in one epoch of @d. */
static void dirty_spread(struct kunit *test, struct fake_disk *d, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		KUNIT_ASSERT_EQ(test, 0, write_block(d, 2 * i, 0x40 + i % 64, false));
}

static void expect_spread_durable(struct kunit *test, struct fake_disk *d,
				  unsigned int nr)
{
	unsigned int i, wrong = 0;

	for (i = 0; i < nr; i++)
		wrong += durable_byte(d, 2 * i) != 0x40 + i % 64;
	KUNIT_EXPECT_EQ(test, wrong, 0U);
	KUNIT_EXPECT_EQ(test, d->part->nr_dirty, 0ULL);
}

/* A cache and a disk for a stage of more blocks than one pass holds. */
static struct fake_disk *big_stage_disk(struct kunit *test, struct dcache_writer **wr)
{
	struct dcache *c = fake_cache(test, 2048, BS, 0);
	struct dcache_flusher *fl = fake_flusher(test, c);
	struct fake_disk *d = fake_disk_add(test, c, 4096);

	dcache_set_dirty_percent(c, 90);
	dcache_set_part_dirty_percent(c, 90);
	*wr = fake_writer(test, fl, d);
	return d;
}

#define SPREAD (3 * DCACHE_WB_BLOCKS + 1)

/*
 * A stage of more than one pass keeps several passes on the disk at once:
 * every block of a four-pass stage is in flight before the first pass
 * ends. A failure of any ends the stage once all have ended, with the
 * blocks still dirty and nothing claimed durable.
 */
static void stage_passes_overlap_test(struct kunit *test)
{
	struct dcache_writer *wr;
	struct fake_disk *d = big_stage_disk(test, &wr);
	struct flush_call f;

	dirty_spread(test, d, SPREAD);
	d->hold_writes = true;
	flush_async(&f, wr);
	wait_held(test, d, SPREAD);
	fake_disk_end_writes(d, -EIO);
	KUNIT_EXPECT_EQ(test, -EIO, flush_wait(test, &f));
	KUNIT_EXPECT_EQ(test, d->part->nr_dirty, (u64)SPREAD);
	KUNIT_EXPECT_EQ(test, atomic64_read(&wr->durable_epoch), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->flushes), 0);

	flush_async(&f, wr);
	wait_held(test, d, SPREAD);
	d->hold_writes = false;
	fake_disk_end_writes(d, 0);
	KUNIT_EXPECT_EQ(test, 0, flush_wait(test, &f));
	expect_spread_durable(test, d, SPREAD);
	KUNIT_EXPECT_EQ(test, 0, dcache_check(d->part->cache));
}

/*
 * A later pass that finds no page for its copies does not wait for one
 * while passes are in flight (their pages would be what it waits for):
 * the oldest pass ends first, and the stage still writes everything.
 */
static void starved_pass_ends_oldest_first_test(struct kunit *test)
{
	struct dcache_writer *wr;
	struct fake_disk *d = big_stage_disk(test, &wr);
	struct flush_call f;
	int i;

	dirty_spread(test, d, SPREAD);
	wr->starve_passes = true;
	d->hold_writes = true;
	flush_async(&f, wr);
	wait_held(test, d, DCACHE_WB_BLOCKS);
	msleep(100);
	/* One pass in flight: the second took no page and did not wait. */
	KUNIT_EXPECT_EQ(test, atomic_read(&d->held_writes), DCACHE_WB_BLOCKS);
	for (i = 0; i < 250 && !completion_done(&f.done); i++) {
		fake_disk_end_writes(d, 0);
		msleep(20);
	}
	d->hold_writes = false;
	fake_disk_end_writes(d, 0);
	KUNIT_EXPECT_EQ(test, 0, flush_wait(test, &f));
	expect_spread_durable(test, d, SPREAD);
}

/*
 * A stage of at most DCACHE_FUA_BLOCKS blocks, on a disk that does FUA
 * writes, is written with FUA and needs no flush to be durable; a larger
 * stage is written plainly and flushed, and so is every stage on a disk
 * without FUA.
 */
static void small_stage_written_with_fua_test(struct kunit *test)
{
	struct dcache_writer *wr;
	struct fake_disk *d = big_stage_disk(test, &wr);
	u64 a;

	d->fua = true;
	for (a = 0; a < 3; a++)
		KUNIT_ASSERT_EQ(test, 0, write_block(d, a, 0x31, true));
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(wr));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->flushes), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->fua_writes), 3);
	KUNIT_EXPECT_EQ(test, atomic64_read(&wr->fua_stages), 1);
	for (a = 0; a < 3; a++)
		KUNIT_EXPECT_EQ(test, durable_byte(d, a), 0x31);

	for (a = 0; a < DCACHE_FUA_BLOCKS + 1; a++)
		KUNIT_ASSERT_EQ(test, 0, write_block(d, 2 * a, 0x32, true));
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(wr));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->flushes), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->fua_writes), 3);
	KUNIT_EXPECT_EQ(test, durable_byte(d, 2 * DCACHE_FUA_BLOCKS), 0x32);

	d->fua = false;
	KUNIT_ASSERT_EQ(test, 0, write_block(d, 1, 0x33, true));
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(wr));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->flushes), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->fua_writes), 3);
	KUNIT_EXPECT_EQ(test, durable_byte(d, 1), 0x33);
}

struct quick_call {
	struct dcache_flush_req req;
	struct completion done;
	int result;
};

static void quick_call_done(struct dcache_flush_req *req, int error)
{
	struct quick_call *q = container_of(req, struct quick_call, req);

	q->result = error;
	complete(&q->done);
}

/* Start a quick flush of @wr: its result, 0 if it went ahead. */
static int quick_start(struct quick_call *q, struct dcache_writer *wr)
{
	init_completion(&q->done);
	q->req.done = quick_call_done;
	return dcache_writer_quick_flush(wr, &q->req);
}

/* The bounce pages left in @wr's reserve. */
static int bounce_reserve_left(struct dcache_writer *wr)
{
	return READ_ONCE(wr->pages->curr_nr);
}

static int quick_wait(struct kunit *test, struct quick_call *q)
{
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&q->done, 20 * HZ));
	return q->result;
}

/*
 * A quick flush writes a part's few dirty blocks and flushes its disk
 * with no round: a block rewritten while its copy is on the disk keeps
 * its new data dirty, and a round waits for the quick flush to end
 * before it writes that data (else two writes of one block would race
 * on the disk, the older possibly last). Its copies' pages come from the
 * writer's reserve, not zeroed by the page allocator first, and go back
 * to it. More dirt than a quick flush takes, or dirt of an older epoch,
 * leaves it to a round, untouched.
 */
static void quick_flush_test(struct kunit *test)
{
	struct dcache_writer *wr;
	struct fake_disk *d = big_stage_disk(test, &wr);
	struct quick_call q;
	struct flush_call f;
	u64 a, epoch;

	for (a = 3; a < 6; a++)
		KUNIT_ASSERT_EQ(test, 0, write_block(d, 2 * a, 0x41, false));
	d->hold_writes = true;
	KUNIT_ASSERT_EQ(test, 0, quick_start(&q, wr));
	wait_held(test, d, 3);
	KUNIT_EXPECT_EQ(test, bounce_reserve_left(wr), DCACHE_WB_BLOCKS - 3);
	KUNIT_ASSERT_EQ(test, 0, write_block(d, 8, 0x42, false));
	flush_async(&f, wr);
	msleep(100);
	KUNIT_EXPECT_FALSE(test, completion_done(&q.done));
	KUNIT_EXPECT_FALSE(test, completion_done(&f.done));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->held_writes), 3);
	d->hold_writes = false;
	fake_disk_end_writes(d, 0);
	KUNIT_EXPECT_EQ(test, 0, quick_wait(test, &q));
	KUNIT_EXPECT_EQ(test, 0, flush_wait(test, &f));
	KUNIT_EXPECT_EQ(test, durable_byte(d, 6), 0x41);
	KUNIT_EXPECT_EQ(test, durable_byte(d, 8), 0x42);
	KUNIT_EXPECT_EQ(test, durable_byte(d, 10), 0x41);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->flushes), 2);
	KUNIT_EXPECT_EQ(test, d->part->nr_dirty, 0);
	KUNIT_EXPECT_FALSE(test, dcache_writer_owes_flush(wr));
	KUNIT_EXPECT_EQ(test, bounce_reserve_left(wr), DCACHE_WB_BLOCKS);

	for (a = 0; a < DCACHE_QUICK_BLOCKS + 1; a++)
		KUNIT_ASSERT_EQ(test, 0, write_block(d, a, 0x43, false));
	epoch = dcache_current_epoch(d->part);
	KUNIT_EXPECT_EQ(test, -EAGAIN, quick_start(&q, wr));
	KUNIT_EXPECT_EQ(test, epoch, dcache_current_epoch(d->part));
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(wr));

	KUNIT_ASSERT_EQ(test, 0, write_block(d, 1, 0x44, false));
	dcache_close_epoch(d->part);
	KUNIT_ASSERT_EQ(test, 0, write_block(d, 2, 0x44, false));
	KUNIT_EXPECT_EQ(test, -EAGAIN, quick_start(&q, wr));
	KUNIT_EXPECT_EQ(test, d->part->nr_dirty, 2);
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(wr));
}

/*
 * A quick flush whose write or disk flush fails ends with -EAGAIN, for
 * its caller to flush the long way: a failed write leaves its block
 * dirty, a failed flush leaves it owed. A failing disk gets no quick
 * flush until a round succeeds on it.
 */
static void quick_flush_failure_test(struct kunit *test)
{
	struct dcache_writer *wr;
	struct fake_disk *d = big_stage_disk(test, &wr);
	struct quick_call q;
	int flushes;

	KUNIT_ASSERT_EQ(test, 0, write_block(d, 4, 0x51, false));
	d->fail_writes = true;
	KUNIT_ASSERT_EQ(test, 0, quick_start(&q, wr));
	KUNIT_EXPECT_EQ(test, -EAGAIN, quick_wait(test, &q));
	KUNIT_EXPECT_EQ(test, d->part->nr_dirty, 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&wr->durable_epoch), 0);
	KUNIT_EXPECT_EQ(test, -EIO, dcache_writer_flush(wr));
	KUNIT_EXPECT_EQ(test, -EAGAIN, quick_start(&q, wr));
	d->fail_writes = false;
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(wr));
	KUNIT_EXPECT_EQ(test, durable_byte(d, 4), 0x51);

	KUNIT_ASSERT_EQ(test, 0, write_block(d, 5, 0x52, false));
	d->fail_flushes = true;
	flushes = atomic_read(&d->flushes);
	KUNIT_ASSERT_EQ(test, 0, quick_start(&q, wr));
	KUNIT_EXPECT_EQ(test, -EAGAIN, quick_wait(test, &q));
	KUNIT_EXPECT_EQ(test, d->part->nr_dirty, 0);
	KUNIT_EXPECT_TRUE(test, dcache_writer_owes_flush(wr));
	d->fail_flushes = false;
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(wr));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->flushes), flushes + 1);
	KUNIT_EXPECT_FALSE(test, dcache_writer_owes_flush(wr));
	KUNIT_EXPECT_EQ(test, durable_byte(d, 5), 0x52);
}

struct order_log {
	int events;
	int discard_at;		/* event number of the discard, -1 if none */
	int old_write_at;	/* of the write of the older stage's block */
};

static void log_write(void *ctx, struct fake_disk *d, u64 addr, const void *data)
{
	struct order_log *log = ctx;

	if (addr == 2)
		log->old_write_at = log->events;
	log->events++;
}

static void log_discard(void *ctx, struct fake_disk *d, u64 addr, u64 nr)
{
	struct order_log *log = ctx;

	log->discard_at = log->events++;
}

static const struct fake_disk_hooks order_hooks = {
	.write = log_write,
	.discard = log_discard,
};

/*
 * Ordered: a discard waits for an older epoch's block in its range to be
 * copied, and reaches the disk in its own epoch's stage, after the stage
 * that writes the older block.
 */
static void ordered_discard_after_older_stage_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 16, BS, 0);
	struct dcache_flusher *fl = fake_flusher(test, c);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_writer *wr = fake_writer(test, fl, d);
	struct dcache_discard *q = kzalloc(sizeof(*q), GFP_KERNEL);
	struct order_log log = { .discard_at = -1, .old_write_at = -1 };
	unsigned long since = jiffies;
	int gen, tries = 0;
	u64 qe;

	KUNIT_ASSERT_NOT_NULL(test, q);
	d->hooks = &order_hooks;
	d->hooks_ctx = &log;
	KUNIT_ASSERT_EQ(test, 0, write_block(d, 2, 0x22, true));
	dcache_close_epoch(d->part);
	for (;;) {
		gen = atomic_read(&c->stage_gen);
		if (!dcache_discard_range(d->part, 0, 8, q, &qe))
			break;
		KUNIT_ASSERT_LT(test, ++tries, 20);
		KUNIT_ASSERT_EQ(test, 0, dcache_writer_wait_progress(wr, gen, since));
	}
	KUNIT_EXPECT_EQ(test, 0, dcache_writer_flush(wr));
	KUNIT_EXPECT_GE(test, log.old_write_at, 0);
	KUNIT_EXPECT_GT(test, log.discard_at, log.old_write_at);
	KUNIT_EXPECT_EQ(test, disk_byte(d, 2), 0);
	KUNIT_EXPECT_EQ(test, durable_byte(d, 2), 0);
	d->hooks = NULL;
}

struct release_call {
	struct delayed_work work;
	struct fake_disk *d;
};

static void release_writes_fn(struct work_struct *work)
{
	struct release_call *rc = container_of(to_delayed_work(work),
					       struct release_call, work);

	rc->d->hold_writes = false;
	fake_disk_end_writes(rc->d, 0);
}

/*
 * max_age_ms: a writer goes on while the disk lags by at most half the
 * bound; beyond it, a short hold that grows toward the bound; at the
 * bound, held until write-back brings the lag under it; on a failing
 * disk, the write-back's error rather than a hang.
 */
static void max_age_throttle_test(struct kunit *test)
{
	struct dcache *c = fake_cache(test, 64, BS, 0);
	struct dcache_flusher *fl = fake_flusher(test, c);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	struct dcache_writer *wr = fake_writer(test, fl, d);
	const unsigned int max_age = 400;
	struct release_call rc = { .d = d };
	unsigned long t0;
	int r;

	KUNIT_EXPECT_EQ(test, dcache_writer_throttle(wr, max_age), 0);
	d->hold_writes = true;
	KUNIT_ASSERT_EQ(test, 0, write_block(d, 1, 0x11, true));
	KUNIT_EXPECT_EQ(test, dcache_writer_throttle(wr, max_age), 0);

	msleep(260);			/* over half the bound */
	t0 = jiffies;
	KUNIT_EXPECT_EQ(test, dcache_writer_throttle(wr, max_age), 1);
	KUNIT_EXPECT_LT(test, jiffies_to_msecs(jiffies - t0), 100U);
	KUNIT_EXPECT_FALSE(test, dcache_writer_lagging(wr, 2 * max_age));
	KUNIT_EXPECT_TRUE(test, dcache_writer_lagging(wr, max_age));

	msleep(200);			/* at the bound: held until the lag drops */
	INIT_DELAYED_WORK_ONSTACK(&rc.work, release_writes_fn);
	schedule_delayed_work(&rc.work, msecs_to_jiffies(300));
	t0 = jiffies;
	r = dcache_writer_throttle(wr, max_age);
	KUNIT_EXPECT_EQ(test, r, 1);
	KUNIT_EXPECT_GE(test, jiffies_to_msecs(jiffies - t0), 250U);
	KUNIT_EXPECT_LT(test, dcache_part_lag_ms(d->part), max_age);
	KUNIT_EXPECT_EQ(test, durable_byte(d, 1), 0x11);
	flush_delayed_work(&rc.work);
	destroy_delayed_work_on_stack(&rc.work);

	d->fail_writes = true;		/* a dead disk: the error, no hang */
	KUNIT_ASSERT_EQ(test, 0, write_block(d, 2, 0x22, true));
	msleep(450);
	t0 = jiffies;
	KUNIT_EXPECT_EQ(test, dcache_writer_throttle(wr, max_age), -EIO);
	KUNIT_EXPECT_LT(test, jiffies_to_msecs(jiffies - t0), 5000U);
	d->fail_writes = false;
}

static struct kunit_case dcache_flusher_cases[] = {
	KUNIT_CASE(failed_flush_is_owed_test),
	KUNIT_CASE(write_through_owes_flush_test),
	KUNIT_CASE(durable_epoch_never_shrinks_test),
	KUNIT_CASE(redirtied_block_gets_deadline_test),
	KUNIT_CASE(suspended_writer_left_out_test),
	KUNIT_CASE(dead_disk_kept_to_its_share_test),
	KUNIT_CASE(max_age_throttle_test),
	KUNIT_CASE(ordered_discard_after_older_stage_test),
	KUNIT_CASE(stage_passes_overlap_test),
	KUNIT_CASE(starved_pass_ends_oldest_first_test),
	KUNIT_CASE(small_stage_written_with_fua_test),
	KUNIT_CASE(quick_flush_test),
	KUNIT_CASE(quick_flush_failure_test),
	{}
};

static struct kunit_suite dcache_flusher_suite = {
	.name = "dcache_flusher",
	.test_cases = dcache_flusher_cases,
};

kunit_test_suites(&dcache_flusher_suite);
