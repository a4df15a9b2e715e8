// SPDX-License-Identifier: GPL-2.0
/*
 * Write-back in epoch order: the module's flush thread and its rounds.
 *
 * A round closes the open epoch, then writes the dirty blocks of every
 * closed epoch stage by stage, oldest epoch first (the dirty list is kept
 * in epoch order by cache.c). In a stage each part's writer issues the
 * part's discards queued for the epoch, then its blocks in address order,
 * merged into runs of adjacent blocks, on the writer's own workqueue, parts
 * in parallel; then the part's disk is flushed if it owes a flush (writes
 * reached it since its last successful flush), and only then is the epoch
 * published as the writer's durable epoch, which never goes back. So at
 * every moment a disk holds its state at an epoch boundary, plus the
 * writes of the stage under way.
 *
 * A block is written from a copy taken under its shared lock, so readers
 * and writers never wait for the disk; a block written again after its
 * copy stays dirty from the epoch of its first newer write (cache.c). A
 * failed write leaves its blocks dirty (the core keeps the failed copy of
 * a block written since, so the retry writes the stage's own data), ends
 * the round for that part (its later epochs wait, so the prefix still
 * holds) and the flusher retries with a growing back-off. A suspended
 * part is left out of rounds.
 *
 * Locking, outermost first:
 *   flusher.devs_lock (mutex): the writer list; held for a whole round,  so
 *     a writer leaves the list only between rounds.
 *   a block's lock (shared), then cache.c's locks, as everywhere.
 *   flusher.kick.lock (kick.c): innermost.
 * A writer's stage state (epoch, blocks, addrs) belongs to the round that
 * queued its stage job, from queueing to completion.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/kthread.h>
#include <linux/mempool.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/module.h>

#include "dcache_flush.h"
#include "dcache_export.h"

#define WB_BACKOFF_MIN_MS 100U
#define WB_BACKOFF_MAX_MS 5000U

/* Log every stage's start and end (a knob, params.c). */
bool dcache_trace_stages;

/* An epoch only grows: racing publishers keep the largest. */
static void advance_epoch(atomic64_t *v, u64 epoch)
{
	s64 old = atomic64_read(v);

	while (old < (s64)epoch && !atomic64_try_cmpxchg(v, &old, epoch))
		;
}

/* The end of a write started by part_ops.submit_write, in any context. */
void dcache_write_end(struct dcache_wb_block *first, unsigned int n, int error)
{
	struct dcache_writer *wr = first->wr;
	unsigned int i;

	for (i = 0; i < n; i++)
		first[i].error = error;
	if (atomic_dec_and_test(&wr->pending))
		complete(&wr->bios_done);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_write_end);

static void count_write(struct dcache_writer *wr, unsigned int blocks, int error)
{
	struct dcache *c = wr->part->cache;

	atomic64_add(blocks, &c->stats.writes);
	atomic64_add((u64)blocks * wr->part->block_size, &c->stats.bytes_written);
	if (error) {
		atomic64_add(blocks, &c->stats.write_errors);
		atomic64_add(blocks, &wr->write_errors);
	}
}

static int cmp_addr(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * How many of the sorted addresses from @addrs[0] are consecutive, at most
 * @max: the blocks that one bio writes.
 */
unsigned int dcache_run_length(const u64 *addrs, unsigned int n, unsigned int max)
{
	unsigned int run = 1;

	while (run < n && run < max && addrs[run] == addrs[0] + run)
		run++;
	return run;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_run_length);

/* Copy the collected blocks still dirty in @epoch; returns how many. */
static unsigned int take_copies(struct dcache_writer *wr, u64 epoch, unsigned int n)
{
	unsigned int i, nr = 0;

	for (i = 0; i < n; i++) {
		struct dcache_wb_block *w = &wr->blocks[nr];
		struct dcache_block *b;

		if (dcache_get_for_copy(wr->part, wr->addrs[i], epoch, &b))
			continue;
		w->b = b;
		w->wr = wr;
		w->error = 0;
		w->page = dcache_writeback_start(b);
		if (!w->page) {
			w->page = mempool_alloc(wr->pages, GFP_NOIO);
			memcpy(page_address(w->page), dcache_block_data(b),
			       wr->part->block_size);
		}
		wr->addrs[nr] = wr->addrs[i];	/* addrs[0..nr) match blocks */
		/* Keep the pin, drop the lock: the block cannot change identity. */
		dcache_unlock_block(b, DCACHE_READ);
		nr++;
	}
	return nr;
}

/* Submit runs of adjacent blocks as single writes; then wait for them all. */
static void write_copies(struct dcache_writer *wr, unsigned int nr)
{
	struct dcache_part *part = wr->part;
	unsigned int i = 0, run;

	atomic_set(&wr->pending, 1);
	init_completion(&wr->bios_done);
	while (i < nr) {
		run = dcache_run_length(wr->addrs + i, nr - i, BIO_MAX_VECS);
		atomic_inc(&wr->pending);
		wr->bios++;
		part->ops->submit_write(part, &wr->blocks[i], run);
		i += run;
	}
	if (!atomic_dec_and_test(&wr->pending))
		wait_for_completion_io(&wr->bios_done);
}

/* End the write-back of copied blocks; returns the first error. */
static int end_copies(struct dcache_writer *wr, unsigned int nr)
{
	unsigned int i, failed = 0;
	int error = 0;

	for (i = 0; i < nr; i++) {
		struct dcache_wb_block *w = &wr->blocks[i];

		dcache_writeback_end(w->b, w->error, &w->page);
		if (w->page)
			mempool_free(w->page, wr->pages);
		dcache_unpin(w->b);
		if (w->error) {
			error = error ?: w->error;
			failed++;
		}
	}
	count_write(wr, nr - failed, 0);
	count_write(wr, failed, -EIO);
	dcache_stage_progress(wr->part->cache);
	return error;
}

/* The discards queued for epochs up to @epoch go first in its stage. */
static void issue_discards(struct dcache_writer *wr, u64 epoch)
{
	struct dcache_part *part = wr->part;
	struct dcache_discard *d, *tmp;
	LIST_HEAD(list);

	dcache_take_discards(part, epoch, &list);
	list_for_each_entry_safe(d, tmp, &list, link) {
		/* Advisory: a refused discard leaves old data, never wrong data. */
		part->ops->discard(part, d->addr, d->nr);
		atomic_inc(&wr->flush_owed);
		list_del(&d->link);
		kfree(d);
	}
}

/* Flush the disk if writes reached it since its last successful flush. */
static int pay_flush(struct dcache_writer *wr)
{
	struct dcache_part *part = wr->part;
	int owed = atomic_read(&wr->flush_owed), error = 0;

	if (!owed)
		return 0;
	if (part->ops->has_volatile_cache(part))
		error = part->ops->flush(part);
	if (!error)
		atomic_cmpxchg(&wr->flush_owed, owed, 0);
	return error;
}

/* Write every block of the part dirty in @epoch, in passes. */
static int write_stage(struct dcache_writer *wr, u64 epoch, unsigned int *written)
{
	struct dcache_part *part = wr->part;
	unsigned int n, nr;
	int error = 0;

	issue_discards(wr, epoch);
	while ((n = dcache_collect_stage(part, epoch, wr->addrs, DCACHE_WB_BLOCKS))) {
		sort(wr->addrs, n, sizeof(*wr->addrs), cmp_addr, NULL);
		nr = take_copies(wr, epoch, n);
		/* Writers held for this stage may go on: the copies are taken. */
		dcache_stage_progress(part->cache);
		if (!nr)
			break;	/* all discarded under us */
		atomic_inc(&wr->flush_owed);
		write_copies(wr, nr);
		*written += nr;
		error = end_copies(wr, nr);
		if (error)
			return error;
	}
	/* A stage may not claim its epoch with data of it still dirty. */
	if (dcache_oldest_dirty_epoch(part) <= epoch)
		return -EAGAIN;
	return 0;
}

/*
 * One part's share of a stage: its discards and blocks of wr->epoch, then
 * the flush it owes. With wr->epoch 0, only the flush.
 */
static void stage_work(struct work_struct *work)
{
	struct dcache_writer *wr = container_of(work, struct dcache_writer, work);
	unsigned int written = 0;
	int error = 0;

	wr->bios = 0;
	if (READ_ONCE(dcache_trace_stages) && wr->epoch)
		pr_info("dcache: %s: stage %llu start\n", wr->name, wr->epoch);
	if (wr->epoch)
		error = write_stage(wr, wr->epoch, &written);
	if (!error)
		error = pay_flush(wr);
	if (READ_ONCE(dcache_trace_stages) && wr->epoch)
		pr_info("dcache: %s: stage %llu done: %u blocks in %u bios, error %d\n",
			wr->name, wr->epoch, written, wr->bios, error);
	wr->stage_error = error;
	complete(&wr->done);
}

/* Called under devs_lock: a part off the list has no writer to write it. */
static bool part_skipped(struct dcache_part *part)
{
	struct dcache_writer *wr = part->writer;

	return !wr || !wr->listed || wr->failed;
}

static void writer_failed(struct dcache_writer *wr, int error)
{
	wr->failed = true;
	atomic_set(&wr->error, error);
	dcache_set_part_error(wr->part, error);
}

/* Queue @epoch's job on every writer still in the round; wait for all. */
static bool run_stage(struct dcache_flusher *fl, u64 epoch)
{
	struct dcache_writer *wr;
	bool ok = true;

	list_for_each_entry(wr, &fl->writers, link) {
		/* Epoch 0: only writers that owe a flush. */
		wr->queued = !wr->failed && (epoch || atomic_read(&wr->flush_owed));
		if (!wr->queued)
			continue;
		wr->epoch = epoch;
		reinit_completion(&wr->done);
		queue_work(wr->wq, &wr->work);
	}
	list_for_each_entry(wr, &fl->writers, link) {
		if (!wr->queued)
			continue;
		wait_for_completion(&wr->done);
		if (wr->stage_error) {
			writer_failed(wr, wr->stage_error);
			ok = false;
		} else if (epoch) {
			/* Everything of this part up to @epoch is on its disk. */
			advance_epoch(&wr->durable_epoch, epoch);
		}
	}
	return ok;
}

/* Returns whether every writer took every stage. */
static bool flusher_round(struct dcache_flusher *fl)
{
	struct dcache *c = fl->cache;
	struct dcache_writer *wr;
	bool ok = true;
	u64 closed, epoch, prev = 0;

	mutex_lock(&fl->devs_lock);
	closed = dcache_close_epoch(c);
	list_for_each_entry(wr, &fl->writers, link)
		wr->failed = wr->suspended;
	while ((epoch = dcache_next_stage(c, closed, part_skipped))) {
		/* Each stage empties its epoch, so epochs only grow. */
		if (WARN_ON_ONCE(epoch <= prev)) {
			ok = false;
			break;
		}
		prev = epoch;
		ok &= run_stage(fl, epoch);
		if (ok)
			advance_epoch(&fl->durable, epoch);
		dcache_stage_progress(c);
	}
	/* Flushes owed with nothing left to write (writethrough, discards). */
	ok &= run_stage(fl, 0);
	list_for_each_entry(wr, &fl->writers, link) {
		if (wr->failed)
			continue;
		if (dcache_oldest_dirty_epoch(wr->part) <= closed) {
			ok = false;	/* not written: never publish it */
			continue;
		}
		advance_epoch(&wr->durable_epoch, closed);
		if (atomic_xchg(&wr->error, 0))
			dcache_set_part_error(wr->part, 0);
	}
	if (ok)
		advance_epoch(&fl->durable, closed);
	mutex_unlock(&fl->devs_lock);
	dcache_stage_progress(c);
	return ok;
}

/* A round within @ms from now, unless one is due sooner. */
void dcache_flusher_kick_within(struct dcache_flusher *fl, unsigned int ms)
{
	dcache_kick_at(&fl->kick, jiffies + msecs_to_jiffies(ms));
}
EXPORT_SYMBOL_IF_KUNIT(dcache_flusher_kick_within);

static int flusher_thread(void *arg)
{
	struct dcache_flusher *fl = arg;
	struct dcache_kick *k = &fl->kick;

	while (!kthread_should_stop()) {
		unsigned long timeout = MAX_SCHEDULE_TIMEOUT;
		unsigned long deadline = dcache_kick_deadline(k);
		u64 round;
		bool ok;

		if (deadline)
			timeout = max_t(long, 1, (long)(deadline - jiffies));
		/* A new deadline means a new timeout: wake up to recompute it. */
		wait_event_interruptible_timeout(k->wake,
						 dcache_kick_due(k, jiffies) ||
						 kthread_should_stop() ||
						 dcache_kick_deadline(k) != deadline,
						 timeout);
		if (!dcache_kick_due(k, jiffies))
			continue;
		round = dcache_kick_begin_round(k);
		ok = flusher_round(fl);
		atomic64_inc(&fl->cache->stats.rounds);
		dcache_kick_end_round(k, round);

		/* Failed blocks stay dirty: try again later, then less often. */
		if (ok) {
			fl->backoff_ms = WB_BACKOFF_MIN_MS;
		} else {
			dcache_flusher_kick_within(fl, fl->backoff_ms);
			fl->backoff_ms = min(fl->backoff_ms * 2, WB_BACKOFF_MAX_MS);
		}
	}
	return 0;
}

static void flusher_kick(struct dcache *c)
{
	dcache_kick_now(&c->flusher->kick);
}

static void flusher_kick_delayed(struct dcache *c)
{
	dcache_flusher_kick_within(c->flusher, READ_ONCE(*c->flusher->delay_ms));
}

/* Returns once a round that started after the call has completed. */
static int flusher_wait_round(struct dcache *c)
{
	struct dcache_kick *k = &c->flusher->kick;

	dcache_kick_wait(k, dcache_kick_request_round(k));
	return 0;
}

static const struct dcache_flush_ops flusher_ops = {
	.kick = flusher_kick,
	.kick_delayed = flusher_kick_delayed,
	.wait_round = flusher_wait_round,
};

/*
 * Write back every block of the part dirty at the call and flush its disk:
 * a round that starts after the call writes every closed epoch. Fails if
 * the round could not write this part's blocks or flush its disk.
 */
int dcache_writer_flush(struct dcache_writer *wr)
{
	struct dcache *c = wr->part->cache;
	u64 epoch = dcache_current_epoch(c);

	flusher_wait_round(c);
	if (atomic64_read(&wr->durable_epoch) >= epoch)
		return 0;
	return atomic_read(&wr->error) ?: -EIO;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_flush);

/*
 * Kick the flusher and wait up to a second for stage progress after
 * generation @gen (read before the caller looked at its condition). 0, or
 * the part's write-back error once the caller has waited a second since
 * @since (jiffies) while its stages fail: a dead disk must not hang
 * writers for ever, and failing rounds still make progress of a kind.
 */
int dcache_writer_wait_progress(struct dcache_writer *wr, int gen,
				unsigned long since)
{
	struct dcache *c = wr->part->cache;
	int error = atomic_read(&wr->error);

	if (error && time_after(jiffies, since + HZ))
		return error;
	flusher_kick(c);
	wait_event_timeout(c->stage_wait, atomic_read(&c->stage_gen) != gen, HZ);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_wait_progress);

/* Wait until a writer of @addr may go on (see dcache_write_must_wait). */
int dcache_writer_wait(struct dcache_writer *wr, u64 addr, bool ordered)
{
	struct dcache *c = wr->part->cache;
	unsigned long since = jiffies;
	int gen, error;

	for (;;) {
		/* Read the generation first: a wake-up after it is not lost. */
		gen = atomic_read(&c->stage_gen);
		if (!dcache_write_must_wait(wr->part, addr, ordered))
			return 0;
		error = dcache_writer_wait_progress(wr, gen, since);
		if (error)
			return error;
	}
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_wait);

/* Writes reached the disk outside write-back (write-through, discards). */
void dcache_writer_owe_flush(struct dcache_writer *wr)
{
	atomic_inc(&wr->flush_owed);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_owe_flush);

/* The write-back state of a part, allocated at table load; not yet listed. */
struct dcache_writer *dcache_writer_create(struct dcache_flusher *fl,
					   struct dcache_part *part,
					   const char *name)
{
	struct dcache_writer *wr = kzalloc(sizeof(*wr), GFP_KERNEL);

	if (!wr)
		return NULL;
	wr->flusher = fl;
	wr->part = part;
	strscpy(wr->name, name, sizeof(wr->name));
	INIT_LIST_HEAD(&wr->link);
	INIT_WORK(&wr->work, stage_work);
	init_completion(&wr->done);
	wr->blocks = kcalloc(DCACHE_WB_BLOCKS, sizeof(*wr->blocks), GFP_KERNEL);
	wr->addrs = kcalloc(DCACHE_WB_BLOCKS, sizeof(*wr->addrs), GFP_KERNEL);
	/* One job per writer at a time takes at most a pass of pages. */
	wr->pages = mempool_create_page_pool(DCACHE_WB_BLOCKS, 0);
	wr->wq = alloc_workqueue("dcache_wb/%s", WQ_MEM_RECLAIM, 1, name);
	if (!wr->blocks || !wr->addrs || !wr->pages || !wr->wq) {
		dcache_writer_destroy(wr);
		return NULL;
	}
	part->writer = wr;
	return wr;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_create);

void dcache_writer_destroy(struct dcache_writer *wr)
{
	if (!wr)
		return;
	if (wr->wq)
		destroy_workqueue(wr->wq);
	mempool_destroy(wr->pages);
	kfree(wr->addrs);
	kfree(wr->blocks);
	kfree(wr);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_destroy);

void dcache_writer_start(struct dcache_writer *wr)
{
	struct dcache_flusher *fl = wr->flusher;

	mutex_lock(&fl->devs_lock);
	list_add_tail(&wr->link, &fl->writers);
	wr->listed = true;
	mutex_unlock(&fl->devs_lock);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_start);

/* After this returns, no round touches @wr. */
void dcache_writer_stop(struct dcache_writer *wr)
{
	struct dcache_flusher *fl = wr->flusher;

	mutex_lock(&fl->devs_lock);
	list_del_init(&wr->link);
	wr->listed = false;
	mutex_unlock(&fl->devs_lock);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_stop);

/* A suspended part's disk may belong to someone else: rounds leave it out. */
void dcache_writer_suspend(struct dcache_writer *wr, bool suspended)
{
	struct dcache_flusher *fl = wr->flusher;

	mutex_lock(&fl->devs_lock);
	wr->suspended = suspended;
	WRITE_ONCE(wr->part->suspended, suspended);
	mutex_unlock(&fl->devs_lock);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_suspend);

/* The flusher of cache @c, its thread started; @delay_ms is the flush delay. */
struct dcache_flusher *dcache_flusher_create(struct dcache *c,
					     const unsigned int *delay_ms)
{
	struct dcache_flusher *fl = kzalloc(sizeof(*fl), GFP_KERNEL);

	if (!fl)
		return ERR_PTR(-ENOMEM);
	mutex_init(&fl->devs_lock);
	INIT_LIST_HEAD(&fl->writers);
	dcache_kick_init(&fl->kick);
	fl->cache = c;
	fl->delay_ms = delay_ms;
	fl->backoff_ms = WB_BACKOFF_MIN_MS;
	fl->task = kthread_run(flusher_thread, fl, "dcache_flush");
	if (IS_ERR(fl->task)) {
		int r = PTR_ERR(fl->task);

		kfree(fl);
		return ERR_PTR(r);
	}
	c->flusher = fl;
	c->flush_ops = &flusher_ops;
	return fl;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_flusher_create);

/* Every writer stopped first. */
void dcache_flusher_destroy(struct dcache_flusher *fl)
{
	struct dcache *c = fl->cache;

	WARN_ON(!list_empty(&fl->writers));
	mutex_lock(&c->lock);
	c->flush_ops = NULL;
	mutex_unlock(&c->lock);
	kthread_stop(fl->task);
	c->flusher = NULL;
	kfree(fl);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_flusher_destroy);
