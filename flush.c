// SPDX-License-Identifier: GPL-2.0
/*
 * Write-back in epoch order: each part's rounds, run by its writer.
 *
 * A round of a writer closes the open epoch, then writes the part's dirty
 * data of every closed epoch stage by stage, oldest epoch first (each
 * part's dirty tree is kept in epoch order by dirty.c). In a stage the
 * writer issues the part's discards queued for the epoch, then its blocks
 * in address order, merged into runs of adjacent blocks, in passes of
 * which up to DCACHE_WB_PASSES are in flight; the disk is then flushed if
 * it owes a flush (writes reached it since its last successful flush; an
 * owed flush is also paid before a stage's first write; a small stage
 * written with FUA owes none), and only then is the epoch published as
 * the writer's durable epoch, which never goes back. So at every moment
 * a disk holds its state at an epoch boundary, plus the writes of the
 * stage under way.
 *
 * A flush with little dirty need not wait for a round: a quick flush
 * (dcache_writer_quick_flush) copies and sends the part's few dirty
 * blocks from the flush's submitter, as the one stage of the epoch it
 * closes, and the end of their writes sends the disk's flush; rounds wait
 * for it to end (wr->quick), as its writes and a round's must not race.
 *
 * Parts are independent: each has its own epochs, and every writer's
 * rounds run as its own work item on the flusher's workqueue, so one
 * device's slow or dead disk never holds up another device's write-back,
 * and a round's I/O that lands on another dcache device (a stack) is
 * written back by that device's own rounds, never by waiting for the
 * round that issued it. The exception is asked for: the members of a
 * consistency group share their epochs, and a member begins the stage of
 * epoch k only once every other member has all its data of older epochs
 * durable (dcache_begin_stage), so that the members' disks together hold
 * a prefix of the group's epochs. A member waits for the others a bounded
 * time per round, and leaves the group when its device is removed.
 *
 * A block is written from a copy taken under its shared lock, so readers
 * and writers never wait for the disk; a block written again after its
 * copy stays dirty from the epoch of its first newer write (dirty.c). A
 * failed write leaves its blocks dirty (the core keeps the failed copy of
 * a block written since, so the retry writes the stage's own data), ends
 * the round (later epochs wait, so the prefix still holds) and the writer
 * retries with a growing back-off. A suspended part's writer does nothing.
 *
 * Locking, outermost first:
 *   flusher.writers_mutex: the writer list, for wait_round and start/stop;
 *   writer.round_lock (mutex): one round at a time, and suspended/listed;
 *     a quick flush begins under it (trylock: its caller may not wait);
 *   a block's lock (shared), then cache.c's locks, as everywhere;
 *   flusher.writers_lock (spinlock): the writer list, for kicks, which
 *     come under the cache mutex;
 *   a writer's kick.lock (kick.c): innermost.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/mempool.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/delay.h>
#include <linux/module.h>

#include "dcache_flush.h"
#include "dcache_export.h"

/*
 * The one retry policy of write-back: after a failed round the writer
 * tries again after WB_BACKOFF_MIN_MS, doubling the pause up to
 * WB_BACKOFF_MAX_MS; a caller that must finish (suspend, remove) drains
 * with the same pauses for at most WB_DRAIN_TRIES rounds.
 */
#define WB_BACKOFF_MIN_MS 100U
#define WB_BACKOFF_MAX_MS 5000U
#define WB_DRAIN_TRIES 5

/*
 * A member of a consistency group waits at most GROUP_WAIT for the others
 * before a stage; then its round ends unfinished (-EAGAIN, no error) and
 * runs again GROUP_RETRY_MS later, so that a suspend or a removal never
 * waits long for another member's disk. A flush tries GROUP_FLUSH_ROUNDS
 * such rounds.
 */
#define GROUP_WAIT (HZ / 2)
#define GROUP_RETRY_MS 20U
#define GROUP_FLUSH_ROUNDS 6

static unsigned int backoff_next(unsigned int ms)
{
	return min(ms * 2, WB_BACKOFF_MAX_MS);
}

/*
 * A published epoch only grows. The writer's rounds publish under its
 * round_lock, so this is a guard for the code that may publish next, not
 * a race today.
 */
static void advance_epoch(atomic64_t *v, u64 epoch)
{
	s64 old = atomic64_read(v);

	while (old < (s64)epoch && !atomic64_try_cmpxchg(v, &old, epoch))
		;
}

/* One write of @pass ended: after the last, its round or quick flush goes on. */
static void pass_write_ended(struct dcache_wb_pass *pass)
{
	if (!atomic_dec_and_test(&pass->pending))
		return;
	if (pass->quick)
		queue_work(pass->wr->flusher->quick_wq, &pass->wr->quick_work);
	else
		complete(&pass->done);
}

/* The end of a write started by part_ops.submit_write, in any context. */
void dcache_write_end(struct dcache_wb_block *first, unsigned int n, int error)
{
	struct dcache_wb_pass *pass = first->pass;
	unsigned int i;

	for (i = 0; i < n; i++)
		first[i].error = error;
	pass_write_ended(pass);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_write_end);

static void count_write(struct dcache_writer *wr, unsigned int blocks, int error)
{
	dcache_account_write(wr->part->cache, blocks, wr->part->block_size, error);
	if (error)
		atomic64_add(blocks, &wr->write_errors);
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

/*
 * Take the copy of @b (pinned, held shared) into @w of @pass: the copy
 * kept from a failed write, which is what this stage must write again,
 * or the block's data copied into *@spare, which it then takes (NULL).
 * Keeps the pin, drops the lock: the block cannot change identity.
 */
static void copy_block(struct dcache_wb_pass *pass, struct dcache_wb_block *w,
		       struct dcache_block *b, struct page **spare)
{
	w->b = b;
	w->pass = pass;
	w->error = 0;
	w->page = dcache_writeback_start(b);
	if (!w->page) {
		w->page = *spare;
		*spare = NULL;
		memcpy(page_address(w->page), dcache_block_data(b),
		       pass->wr->part->block_size);
	}
	dcache_unlock_block(b, DCACHE_READ);
}

/*
 * Copy the @n collected blocks of @pass still dirty in @epoch. The page
 * for a copy is taken before the block: a copy once begun cannot be
 * undone. Only a pass with none before it in flight may wait for pages
 * (the pool holds a pass's worth); a later one stops short instead, and
 * its caller ends a pass in flight first. Returns the copies taken.
 */
static unsigned int take_copies(struct dcache_wb_pass *pass, u64 epoch,
				unsigned int n, bool may_wait)
{
	struct dcache_writer *wr = pass->wr;
	gfp_t gfp = may_wait ? GFP_NOIO : GFP_NOWAIT | __GFP_NOWARN;
	struct page *spare = NULL;
	unsigned int i, nr = 0;

	for (i = 0; i < n; i++) {
		struct dcache_wb_block *w = &pass->blocks[nr];
		struct dcache_block *b;

		if (!spare && !(wr->starve_passes && !may_wait))
			spare = mempool_alloc(wr->pages, gfp);
		if (!spare)
			break;
		if (dcache_get_for_copy(wr->part, pass->addrs[i], epoch, &b))
			continue;
		copy_block(pass, w, b, &spare);
		pass->addrs[nr] = pass->addrs[i];	/* addrs[0..nr) match blocks */
		nr++;
	}
	if (spare)
		mempool_free(spare, wr->pages);
	pass->nr = nr;
	return nr;
}

/*
 * A stage written in one pass of @n blocks (@whole) on a disk that does
 * FUA itself is written with FUA and owes no flush; else the pass's
 * writes owe one.
 */
static void choose_fua(struct dcache_wb_pass *pass, unsigned int n, bool whole)
{
	struct dcache_writer *wr = pass->wr;
	struct dcache_part *part = wr->part;

	pass->fua = whole && n <= DCACHE_FUA_BLOCKS &&
		    part->ops->has_fua && part->ops->has_fua(part);
	if (pass->fua)
		atomic64_inc(&wr->fua_stages);
	else
		atomic_inc(&wr->flush_owed);
}

/* Submit runs of adjacent blocks of @pass as single writes, plugged. */
static void submit_pass(struct dcache_wb_pass *pass)
{
	struct dcache_writer *wr = pass->wr;
	struct dcache_part *part = wr->part;
	unsigned int i = 0, run;
	struct blk_plug plug;

	atomic_set(&pass->pending, 1);
	if (!pass->quick)
		reinit_completion(&pass->done);
	blk_start_plug(&plug);
	while (i < pass->nr) {
		run = dcache_run_length(pass->addrs + i, pass->nr - i, BIO_MAX_VECS);
		atomic_inc(&pass->pending);
		wr->bios++;
		part->ops->submit_write(part, &pass->blocks[i], run, pass->fua);
		i += run;
	}
	blk_finish_plug(&plug);
	pass_write_ended(pass);
}

/* End the copies of @pass, whose writes have ended; the first error. */
static int finish_pass(struct dcache_wb_pass *pass)
{
	struct dcache_writer *wr = pass->wr;
	unsigned int i, failed = 0;
	int error = 0;

	for (i = 0; i < pass->nr; i++) {
		struct dcache_wb_block *w = &pass->blocks[i];

		dcache_writeback_end(w->b, w->error, &w->page);
		if (w->page)
			mempool_free(w->page, wr->pages);
		dcache_unpin(w->b);
		if (w->error) {
			error = error ?: w->error;
			failed++;
		}
	}
	count_write(wr, pass->nr - failed, 0);
	count_write(wr, failed, -EIO);
	dcache_stage_progress(wr->part->cache);
	return error;
}

/* Wait for the writes of @pass, then end its copies; the first error. */
static int end_pass(struct dcache_wb_pass *pass)
{
	wait_for_completion_io(&pass->done);
	return finish_pass(pass);
}

/* The discards queued for epochs up to @epoch go first in its stage. */
static void issue_discards(struct dcache_writer *wr, u64 epoch)
{
	struct dcache_part *part = wr->part;
	struct dcache_discard *d, *tmp;
	unsigned int n = 0;
	LIST_HEAD(list);

	dcache_take_discards(part, epoch, &list);
	list_for_each_entry_safe(d, tmp, &list, link) {
		/* Advisory: a refused discard leaves old data, never wrong data. */
		part->ops->discard(part, d->addr, d->nr);
		atomic_inc(&wr->flush_owed);
		list_del(&d->link);
		kfree(d);
		n++;
	}
	if (n)
		dcache_discards_issued(part, n);
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

/*
 * Write every block of the part dirty in @epoch, in passes of up to
 * DCACHE_WB_BLOCKS, up to DCACHE_WB_PASSES of them in flight: a pass's
 * blocks are collected and copied while the passes before it are on the
 * disk (collect_stage skips blocks being written). A failed pass ends
 * the stage once the passes in flight have ended.
 */
static int write_stage(struct dcache_writer *wr, u64 epoch, unsigned int *written)
{
	struct dcache_part *part = wr->part;
	unsigned int oldest = 0, inflight = 0, n, passes = 0;
	struct dcache_wb_pass *pass;
	int error = 0;

	issue_discards(wr, epoch);
	for (;;) {
		if (inflight == DCACHE_WB_PASSES) {
			error = end_pass(&wr->passes[oldest]);
			oldest = (oldest + 1) % DCACHE_WB_PASSES;
			inflight--;
			if (error)
				break;
		}
		pass = &wr->passes[(oldest + inflight) % DCACHE_WB_PASSES];
		n = dcache_collect_stage(part, epoch, pass->addrs, DCACHE_WB_BLOCKS);
		if (!n)
			break;
		sort(pass->addrs, n, sizeof(*pass->addrs), cmp_addr, NULL);
		if (!take_copies(pass, epoch, n, !inflight)) {
			if (!inflight)
				break;	/* all discarded under us */
			/* Out of pages: the oldest pass gives its own back. */
			error = end_pass(&wr->passes[oldest]);
			oldest = (oldest + 1) % DCACHE_WB_PASSES;
			inflight--;
			if (error)
				break;
			continue;
		}
		/* Writers held for this stage may go on: the copies are taken. */
		dcache_stage_progress(part->cache);
		/* A first pass this short holds the whole stage. */
		choose_fua(pass, n, !passes++);
		submit_pass(pass);
		*written += pass->nr;
		inflight++;
	}
	for (; inflight; inflight--) {
		int e = end_pass(&wr->passes[oldest]);

		error = error ?: e;
		oldest = (oldest + 1) % DCACHE_WB_PASSES;
	}
	if (error)
		return error;
	/* A stage may not claim its epoch with data of it still dirty. */
	if (WARN_ON_ONCE(dcache_oldest_dirty_epoch(part) <= epoch))
		return -EIO;
	return 0;
}

static void writer_failed(struct dcache_writer *wr, int error)
{
	atomic_set(&wr->error, error);
	dcache_set_part_error(wr->part, error);
}

/*
 * In a consistency group, wait until the other members have their data of
 * epochs before @epoch durable; -EAGAIN after GROUP_WAIT.
 */
static int wait_group_turn(struct dcache_writer *wr, u64 epoch)
{
	struct dcache *c = wr->part->cache;
	unsigned long until = jiffies + GROUP_WAIT;
	int gen;

	for (;;) {
		gen = dcache_stage_gen(c);
		if (dcache_begin_stage(wr->part, epoch))
			return 0;
		if (time_after(jiffies, until))
			return -EAGAIN;
		dcache_wait_stage_progress(c, gen, GROUP_WAIT);
	}
}

/* Write one stage of the part and pay its flush; 0 or the error. */
static int run_stage(struct dcache_writer *wr, u64 epoch)
{
	unsigned int written = 0;
	int error;

	wr->bios = 0;
	WRITE_ONCE(wr->stage_epoch, epoch);
	if (READ_ONCE(dcache_trace_stages) && epoch)
		pr_info("dcache: %s: stage %llu start\n", wr->name, epoch);
	/* A flush owed by an older stage comes before this stage's writes. */
	error = pay_flush(wr);
	if (!error)
		dcache_stage_durable(wr->part);
	if (!error && epoch)
		error = wait_group_turn(wr, epoch);
	if (!error && epoch)
		error = write_stage(wr, epoch, &written);
	if (!error)
		error = pay_flush(wr);
	if (!error)
		dcache_stage_durable(wr->part);
	if (READ_ONCE(dcache_trace_stages) && epoch)
		pr_info("dcache: %s: stage %llu done: %u blocks in %u bios, error %d\n",
			wr->name, epoch, written, wr->bios, error);
	return error;
}

/* A moving average of how long a stage takes, for the lag estimate. */
static void note_stage_time(struct dcache_writer *wr, s64 us)
{
	unsigned int avg = READ_ONCE(wr->stage_us);

	us = clamp_t(s64, us, 1, INT_MAX);
	WRITE_ONCE(wr->stage_us, (7ULL * avg + us) / 8);
}

/* Wait until no quick flush of @wr is in flight. */
static void wait_quick_flush(struct dcache_writer *wr)
{
	/* Pairs with quick_end's release: what the quick flush did is seen. */
	wait_var_event(&wr->quick, !smp_load_acquire(&wr->quick));
}

/*
 * One round of @wr: 0 if it wrote every closed epoch, -EAGAIN if it
 * stopped to wait for its consistency group, else the write-back error.
 */
static int writer_round_locked(struct dcache_writer *wr)
{
	struct dcache_part *part = wr->part;
	struct dcache *c = part->cache;
	u64 closed, epoch, prev = 0;
	ktime_t start;
	int error = 0;

	lockdep_assert_held(&wr->round_lock);
	/* Its stage is before this round's: the disk must see it first. */
	wait_quick_flush(wr);
	if (!wr->listed || wr->suspended)
		return 0;
	closed = dcache_close_epoch(part);
	while ((epoch = dcache_oldest_dirty_epoch(part)) <= closed) {
		/* Each stage empties its epoch, so epochs only grow. */
		if (WARN_ON_ONCE(epoch <= prev)) {
			error = -EIO;
			break;
		}
		prev = epoch;
		start = ktime_get();
		error = run_stage(wr, epoch);
		dcache_stage_progress(c);
		if (error)
			break;
		note_stage_time(wr, ktime_us_delta(ktime_get(), start));
		/* Everything of this part up to @epoch is on its disk. */
		advance_epoch(&wr->durable_epoch, epoch);
	}
	/* Flushes owed with nothing left to write (writethrough, discards). */
	if (!error)
		error = run_stage(wr, 0);
	if (error == -EAGAIN) {
		/* Waiting for another member of its group is no failure. */
	} else if (error) {
		writer_failed(wr, error);
	} else {
		advance_epoch(&wr->durable_epoch, closed);
		if (atomic_xchg(&wr->error, 0))
			dcache_set_part_error(part, 0);
	}
	WRITE_ONCE(wr->round_result, error);
	return error;
}

/* A round of @wr, which the caller has begun in its kick state. */
static int writer_round(struct dcache_writer *wr)
{
	int error;

	mutex_lock(&wr->round_lock);
	error = writer_round_locked(wr);
	mutex_unlock(&wr->round_lock);
	dcache_stage_progress(wr->part->cache);
	return error;
}

/*
 * Set the round work's timer from the kick state, under the kick's lock
 * so that the last caller sees every kick: a kick now is never postponed
 * by a later deadline.
 */
static void writer_arm(struct dcache_writer *wr)
{
	struct dcache_kick *k = &wr->kick;
	unsigned long flags, delay = 0;

	spin_lock_irqsave(&k->lock, flags);
	if (k->kicked || k->deadline) {
		if (!k->kicked && time_after(k->deadline, jiffies))
			delay = k->deadline - jiffies;
		mod_delayed_work(wr->flusher->wq, &wr->round_work, delay);
	}
	spin_unlock_irqrestore(&k->lock, flags);
}

/* A round of @wr now; during a round, one more after it. */
static void writer_kick(struct dcache_writer *wr)
{
	dcache_kick_now(&wr->kick);
	writer_arm(wr);
}

/* A round of @wr within @ms from now, unless one is due sooner. */
static void writer_kick_within(struct dcache_writer *wr, unsigned int ms)
{
	if (dcache_kick_at(&wr->kick, jiffies + msecs_to_jiffies(ms)))
		writer_arm(wr);
}

/* A round within @ms from now of the part that @wr writes back. */
void dcache_writer_kick_within(struct dcache_writer *wr, unsigned int ms)
{
	writer_kick_within(wr, ms);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_kick_within);

static void round_work_fn(struct work_struct *work)
{
	struct dcache_writer *wr = container_of(to_delayed_work(work),
						struct dcache_writer, round_work);
	struct dcache_kick *k = &wr->kick;
	u64 round;
	int error;

	if (!dcache_kick_due(k, jiffies)) {
		/* Queued for a deadline that moved: wait for it. */
		writer_arm(wr);
		return;
	}
	round = dcache_kick_begin_round(k);
	error = writer_round(wr);
	if (!error) {
		wr->backoff_ms = WB_BACKOFF_MIN_MS;
	} else if (error == -EAGAIN) {
		writer_kick_within(wr, GROUP_RETRY_MS);
	} else {
		/* Failed blocks stay dirty: try again later, then less often. */
		writer_kick_within(wr, wr->backoff_ms);
		wr->backoff_ms = backoff_next(wr->backoff_ms);
	}
	dcache_account_round(wr->part->cache);
	dcache_kick_end_round(k, round);
}

static void flusher_kick(struct dcache *c, struct dcache_part *part)
{
	struct dcache_flusher *fl = dcache_flusher(c);
	struct dcache_writer *wr;

	if (part) {
		if (part->writer)
			writer_kick(part->writer);
		return;
	}
	spin_lock(&fl->writers_lock);
	list_for_each_entry(wr, &fl->writers, link)
		writer_kick(wr);
	spin_unlock(&fl->writers_lock);
}

static void flusher_kick_delayed(struct dcache *c, struct dcache_part *part)
{
	if (part && part->writer)
		writer_kick_within(part->writer, READ_ONCE(*dcache_flusher(c)->delay_ms));
}

/*
 * Returns once a round of @wr that started after the call has completed,
 * 0; or, @killable, -ERESTARTSYS when the caller is killed first.
 */
static int writer_wait_round(struct dcache_writer *wr, bool killable)
{
	u64 round = dcache_kick_request_round(&wr->kick);

	writer_arm(wr);
	if (killable)
		return dcache_kick_wait_killable(&wr->kick, round);
	dcache_kick_wait(&wr->kick, round);
	return 0;
}

/*
 * A round of @wr that starts after the call, for a flush. With no round
 * under way it runs here, in the caller's thread: a flush with little to
 * write costs no wake-up of the flusher and back. Otherwise it waits for
 * the next round, which every flusher waiting meanwhile shares.
 */
static void flush_round(struct dcache_writer *wr)
{
	u64 round;
	int error;

	if (!mutex_trylock(&wr->round_lock)) {
		writer_wait_round(wr, false);
		return;
	}
	round = dcache_kick_begin_round(&wr->kick);
	error = writer_round_locked(wr);
	mutex_unlock(&wr->round_lock);
	dcache_stage_progress(wr->part->cache);
	/* The worker retries, with its back-off, what failed here. */
	if (error)
		writer_kick_within(wr, error == -EAGAIN ? GROUP_RETRY_MS : WB_BACKOFF_MIN_MS);
	dcache_account_round(wr->part->cache);
	dcache_kick_end_round(&wr->kick, round);
}

/* A round of every writer that starts after the call (pool shrink). */
static int flusher_wait_round(struct dcache *c)
{
	struct dcache_flusher *fl = dcache_flusher(c);
	struct dcache_writer *wr;

	mutex_lock(&fl->writers_mutex);
	list_for_each_entry(wr, &fl->writers, link)
		writer_wait_round(wr, false);
	mutex_unlock(&fl->writers_mutex);
	return 0;
}

static const struct dcache_flush_ops flusher_ops = {
	.kick = flusher_kick,
	.kick_delayed = flusher_kick_delayed,
	.wait_round = flusher_wait_round,
};

static int writer_flush(struct dcache_writer *wr, bool killable)
{
	u64 epoch = dcache_current_epoch(wr->part);
	int rounds = 0, r;

	do {
		/* A round in the caller's thread could not be given up. */
		if (killable) {
			r = writer_wait_round(wr, true);
			if (r)
				return r;
		} else {
			flush_round(wr);
		}
		if (atomic64_read(&wr->durable_epoch) >= epoch)
			return 0;
		/* Rounds that waited for the group: give it time. */
	} while (READ_ONCE(wr->round_result) == -EAGAIN && ++rounds < GROUP_FLUSH_ROUNDS);
	return atomic_read(&wr->error) ?: -EIO;
}

/*
 * Write back every block of the part dirty at the call and flush its disk:
 * a round of its writer that starts after the call writes every closed
 * epoch. Fails if the round could not write the blocks or flush the disk.
 */
int dcache_writer_flush(struct dcache_writer *wr)
{
	return writer_flush(wr, false);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_flush);

/*
 * The same for the flush message, in the writer's rounds: its user may
 * give up waiting for a long backlog (-ERESTARTSYS; the rounds go on),
 * and is not a hung task meanwhile.
 */
int dcache_writer_flush_killable(struct dcache_writer *wr)
{
	return writer_flush(wr, true);
}

/* Unpin the @n blocks taken for a quick flush that does not go ahead. */
static void quick_give_back(struct dcache_writer *wr, struct dcache_block **blocks,
			    unsigned int n)
{
	struct dcache_wb_pass *pass = &wr->passes[0];
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (pass->blocks[i].page)
			mempool_free(pass->blocks[i].page, wr->pages);
		dcache_unlock_block(blocks[i], DCACHE_READ);
		dcache_unpin(blocks[i]);
	}
}

/*
 * Copy the @n blocks of a quick flush into pass 0, whose addrs are
 * theirs: pages first, from the writer's reserve, which is all the quick
 * flush's (no round runs).
 */
static bool quick_take_copies(struct dcache_writer *wr, struct dcache_block **blocks,
			      unsigned int n)
{
	struct dcache_wb_pass *pass = &wr->passes[0];
	unsigned int i;

	for (i = 0; i < n; i++)
		pass->blocks[i].page = mempool_alloc(wr->pages, GFP_NOWAIT | __GFP_NOWARN);
	for (i = 0; i < n; i++) {
		if (!pass->blocks[i].page) {
			quick_give_back(wr, blocks, n);
			return false;
		}
	}
	for (i = 0; i < n; i++) {
		struct page *spare = pass->blocks[i].page;

		copy_block(pass, &pass->blocks[i], blocks[i], &spare);
		if (spare)
			mempool_free(spare, wr->pages);
	}
	pass->nr = n;
	return true;
}

/*
 * A flush of a part with little dirty, with no round and no thread hop
 * before the disk sees it: the caller (a flush bio's submitter) copies
 * every dirty block and sends the writes; their end sends the disk's
 * flush (quick_work), and the flush's end calls @req->done(req, 0), in
 * any context. The writes and the flush are one stage, of the epoch
 * closed here, and rounds wait for them to end (wr->quick). Returns
 * -EAGAIN, with nothing sent, when the part's dirt is not one small stage
 * of its open epoch or a round, a quick flush or a failing disk is in the
 * way; @req->done(req, -EAGAIN) likewise when a write or the flush fails
 * (the blocks stay dirty): either way the caller runs dcache_writer_flush,
 * where a round retries and reports the failure.
 */
int dcache_writer_quick_flush(struct dcache_writer *wr, struct dcache_flush_req *req)
{
	struct dcache_block *blocks[DCACHE_QUICK_BLOCKS];
	struct dcache_wb_pass *pass = &wr->passes[0];
	struct dcache_part *part = wr->part;
	unsigned int n;
	u64 closed;

	if (!part->ops->submit_flush || atomic_read(&wr->error))
		return -EAGAIN;
	if (!mutex_trylock(&wr->round_lock))
		return -EAGAIN;
	/* Pairs with quick_end's release, as in wait_quick_flush. */
	if (!wr->listed || wr->suspended || smp_load_acquire(&wr->quick))
		goto busy;
	n = dcache_take_whole_dirt(part, blocks, pass->addrs, DCACHE_QUICK_BLOCKS,
				   &closed);
	/* A failure leaves @closed dirty: closed, as a round would close it. */
	if (!n || !quick_take_copies(wr, blocks, n))
		goto busy;
	/* A flush owed from before is paid by this stage's own. */
	choose_fua(pass, n, !atomic_read(&wr->flush_owed));
	pass->quick = true;
	req->closed = closed;
	/* The pass and req->closed before the pointer that says they are set. */
	smp_store_release(&wr->quick, req);
	mutex_unlock(&wr->round_lock);
	/* Writers held for this stage may go on: the copies are taken. */
	dcache_stage_progress(part->cache);
	submit_pass(pass);
	return 0;
busy:
	mutex_unlock(&wr->round_lock);
	return -EAGAIN;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_quick_flush);

/* The quick flush of @wr ends: durable (0), or for a round to do (-EAGAIN). */
static void quick_end(struct dcache_writer *wr, int error)
{
	struct dcache_flush_req *req = wr->quick;

	if (!error)
		advance_epoch(&wr->durable_epoch, req->closed);
	/* What the quick flush did, before a round may start (see there). */
	smp_store_release(&wr->quick, NULL);
	wake_up_var(&wr->quick);
	dcache_stage_progress(wr->part->cache);
	req->done(req, error);
}

/* The end of a flush started by part_ops.submit_flush, in any context. */
void dcache_flush_end(struct dcache_writer *wr, int error)
{
	if (error) {
		queue_work(wr->flusher->quick_wq, &wr->quick_work);
		return;
	}
	atomic_cmpxchg(&wr->flush_owed, wr->quick_owed, 0);
	quick_end(wr, 0);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_flush_end);

/* A quick flush's writes ended, or its disk flush failed. */
static void quick_work_fn(struct work_struct *work)
{
	struct dcache_writer *wr = container_of(work, struct dcache_writer, quick_work);
	struct dcache_wb_pass *pass = &wr->passes[0];
	struct dcache_part *part = wr->part;

	/* Its writes have ended before: this is its disk flush failing. */
	if (!pass->quick) {
		quick_end(wr, -EAGAIN);
		return;
	}
	pass->quick = false;
	if (finish_pass(pass)) {
		quick_end(wr, -EAGAIN);
		return;
	}
	if (pass->fua) {
		quick_end(wr, 0);
		return;
	}
	wr->quick_owed = atomic_read(&wr->flush_owed);
	/* As pay_flush: a disk without a volatile cache owes no flush. */
	if (part->ops->has_volatile_cache(part))
		part->ops->submit_flush(part, wr);
	else
		dcache_flush_end(wr, 0);
}

/*
 * Write back everything the part holds dirty, for a caller that must go on
 * (suspend, remove): dcache_writer_flush, tried again after the back-off
 * pauses of failed rounds, at most WB_DRAIN_TRIES times. Unlike a flush
 * request it does not fail at the first refusal of a sick disk, and unlike
 * background write-back it gives up: 0 or the last error.
 */
int dcache_writer_drain(struct dcache_writer *wr)
{
	unsigned int try, pause_ms = WB_BACKOFF_MIN_MS;
	int r;

	for (try = 1;; try++) {
		r = dcache_writer_flush(wr);
		if (!r || try == WB_DRAIN_TRIES)
			return r;
		msleep(pause_ms);
		pause_ms = backoff_next(pause_ms);
	}
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_drain);

/*
 * Kick the part's rounds and wait up to a second for stage progress after
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
	writer_kick(wr);
	dcache_wait_stage_progress(c, gen, HZ);
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
		gen = dcache_stage_gen(c);
		if (!dcache_write_must_wait(wr->part, addr, ordered))
			return 0;
		error = dcache_writer_wait_progress(wr, gen, since);
		if (error)
			return error;
	}
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_wait);

/*
 * How far behind the disk of @wr is, in ms: the age of the oldest data not
 * on it, or the time the stages it is owed will take at the pace of recent
 * stages, whichever is more. The second sees a burst of epochs coming
 * long before their data is old.
 */
static unsigned int writer_lag_ms(struct dcache_writer *wr)
{
	unsigned int age_ms;
	u64 ahead = dcache_part_backlog(wr->part, &age_ms) * READ_ONCE(wr->stage_us) / 1000;

	return max_t(u64, age_ms, min_t(u64, ahead, UINT_MAX));
}

/* Whether writers of an ordered device with max_age_ms @max_age are held. */
bool dcache_writer_lagging(struct dcache_writer *wr, unsigned int max_age)
{
	return writer_lag_ms(wr) > max_age / 2;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_lagging);

/*
 * An ordered device with max_age_ms @max_age: hold a writer while its disk
 * lags by more than half of that, the longer the nearer the lag is to the
 * bound (up to 20 ms a write), so the backlog stops growing before it
 * breaks the bound; at the bound, until write-back brings the lag under
 * it. Write-back runs at once meanwhile. Returns whether the writer was
 * held, or the device's write-back error when its disk fails.
 */
int dcache_writer_throttle(struct dcache_writer *wr, unsigned int max_age)
{
	struct dcache *c = wr->part->cache;
	unsigned int half = max_age / 2, lag;
	int gen, error;

	lag = writer_lag_ms(wr);
	if (lag <= half)
		return 0;
	writer_kick(wr);
	if (lag < max_age) {
		msleep(1 + (lag - half) * 20 / (max_age - half));
		return 1;
	}
	while (lag >= max_age) {
		/* Read the generation first: a wake-up after it is not lost. */
		gen = dcache_stage_gen(c);
		error = atomic_read(&wr->error);
		if (error)
			return error;
		writer_kick(wr);
		dcache_wait_stage_progress(c, gen, HZ / 10);
		lag = writer_lag_ms(wr);
	}
	return 1;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_throttle);

/* Writes reached the disk outside write-back (write-through, discards). */
void dcache_writer_owe_flush(struct dcache_writer *wr)
{
	atomic_inc(&wr->flush_owed);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_owe_flush);

/*
 * Whether writes reached the disk since its last successful flush. With
 * none owed and no dirty block, every acknowledged write is durable: a
 * flush request has nothing to do. A round owes its writes from their
 * submission until its flush succeeds, so this also covers a round under
 * way; the caller reads the part's dirty count first.
 */
bool dcache_writer_owes_flush(struct dcache_writer *wr)
{
	smp_rmb();	/* the dirty count, then what is owed */
	return atomic_read(&wr->flush_owed);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_owes_flush);

/*
 * A writer's bounce pages come from its reserve while it holds any, and
 * from the page allocator only past it (mempool_alloc asks here first):
 * the allocator zeroes every page it hands out when init_on_alloc is on,
 * as in Debian's kernels, a 4 KiB clear per block written that the copy
 * then overwrites, on the path of every fsync. The reserve is read
 * unlocked: should another pass take its last page meanwhile, a pass that
 * may not wait stops short, as at an empty reserve, and one that may
 * comes back here with its own gfp and allocates or waits as before.
 */
static void *bounce_page_alloc(gfp_t gfp, void *data)
{
	struct dcache_writer *wr = data;

	/* NULL while mempool_create fills the reserve. */
	if (wr->pages && READ_ONCE(wr->pages->curr_nr))
		return NULL;
	return alloc_page(gfp);
}

static void bounce_page_free(void *page, void *data)
{
	__free_page(page);
}

/* The write-back state of a part, allocated at table load; not yet started. */
struct dcache_writer *dcache_writer_create(struct dcache_flusher *fl,
					   struct dcache_part *part,
					   const char *name)
{
	struct dcache_writer *wr = kzalloc(sizeof(*wr), GFP_KERNEL);
	unsigned int i;

	if (!wr)
		return NULL;
	wr->flusher = fl;
	wr->part = part;
	strscpy(wr->name, name, sizeof(wr->name));
	INIT_LIST_HEAD(&wr->link);
	mutex_init(&wr->round_lock);
	dcache_kick_init(&wr->kick);
	INIT_DELAYED_WORK(&wr->round_work, round_work_fn);
	INIT_WORK(&wr->quick_work, quick_work_fn);
	wr->backoff_ms = WB_BACKOFF_MIN_MS;
	/* A guess of a disk's write and flush until stages are measured. */
	wr->stage_us = 10 * USEC_PER_MSEC;
	for (i = 0; i < DCACHE_WB_PASSES; i++) {
		struct dcache_wb_pass *pass = &wr->passes[i];

		pass->wr = wr;
		init_completion(&pass->done);
		pass->blocks = kcalloc(DCACHE_WB_BLOCKS, sizeof(*pass->blocks), GFP_KERNEL);
		pass->addrs = kcalloc(DCACHE_WB_BLOCKS, sizeof(*pass->addrs), GFP_KERNEL);
		if (!pass->blocks || !pass->addrs)
			goto fail;
	}
	/* Enough for the one pass that may wait (take_copies). */
	wr->pages = mempool_create(DCACHE_WB_BLOCKS, bounce_page_alloc, bounce_page_free, wr);
	if (!wr->pages)
		goto fail;
	return wr;
fail:
	dcache_writer_destroy(wr);
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_create);

void dcache_writer_destroy(struct dcache_writer *wr)
{
	unsigned int i;

	if (!wr)
		return;
	mempool_destroy(wr->pages);
	for (i = 0; i < DCACHE_WB_PASSES; i++) {
		kfree(wr->passes[i].addrs);
		kfree(wr->passes[i].blocks);
	}
	kfree(wr);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_destroy);

/* From now on the part's dirty data is written back by @wr. */
void dcache_writer_start(struct dcache_writer *wr)
{
	struct dcache_flusher *fl = wr->flusher;

	mutex_lock(&fl->writers_mutex);
	mutex_lock(&wr->round_lock);
	wr->listed = true;
	mutex_unlock(&wr->round_lock);
	spin_lock(&fl->writers_lock);
	list_add_tail(&wr->link, &fl->writers);
	spin_unlock(&fl->writers_lock);
	dcache_part_set_writer(wr->part, wr);
	mutex_unlock(&fl->writers_mutex);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_start);

/* After this returns, no round of @wr runs or will run. */
void dcache_writer_stop(struct dcache_writer *wr)
{
	struct dcache_flusher *fl = wr->flusher;

	mutex_lock(&fl->writers_mutex);
	dcache_part_set_writer(wr->part, NULL);
	spin_lock(&fl->writers_lock);
	list_del_init(&wr->link);
	spin_unlock(&fl->writers_lock);
	mutex_lock(&wr->round_lock);
	wr->listed = false;
	mutex_unlock(&wr->round_lock);
	mutex_unlock(&fl->writers_mutex);
	cancel_delayed_work_sync(&wr->round_work);
	/* A quick flush's bio ends before its device stops: only its tail. */
	wait_quick_flush(wr);
	flush_work(&wr->quick_work);
	/* Waiters of a round that will not run now. */
	dcache_kick_end_round(&wr->kick, U64_MAX);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_stop);

/*
 * A suspended part's disk may belong to someone else: no write-back. On
 * resume, what is still dirty (a failed drain at suspend) is written
 * back: soon if the disk was failing, else after the flush delay.
 */
void dcache_writer_suspend(struct dcache_writer *wr, bool suspended)
{
	mutex_lock(&wr->round_lock);
	wr->suspended = suspended;
	WRITE_ONCE(wr->part->suspended, suspended);
	mutex_unlock(&wr->round_lock);
	if (!suspended && READ_ONCE(wr->part->nr_dirty))
		writer_kick_within(wr, atomic_read(&wr->error) ? WB_BACKOFF_MIN_MS :
				   READ_ONCE(*wr->flusher->delay_ms));
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writer_suspend);

/* The flusher of cache @c; @delay_ms is the flush delay knob. */
struct dcache_flusher *dcache_flusher_create(struct dcache *c,
					     const unsigned int *delay_ms)
{
	struct dcache_flusher *fl = kzalloc(sizeof(*fl), GFP_KERNEL);

	if (!fl)
		return ERR_PTR(-ENOMEM);
	mutex_init(&fl->writers_mutex);
	spin_lock_init(&fl->writers_lock);
	INIT_LIST_HEAD(&fl->writers);
	fl->cache = c;
	fl->delay_ms = delay_ms;
	/* Rounds write back for reclaim too; many parts' rounds at once. */
	fl->wq = alloc_workqueue("dcache_flush", WQ_MEM_RECLAIM | WQ_UNBOUND, 0);
	/*
	 * A quick flush's next step runs on the CPU its writes ended on, at
	 * once: no wake-up of another CPU between the disk's two round trips.
	 */
	fl->quick_wq = alloc_workqueue("dcache_quick", WQ_MEM_RECLAIM | WQ_HIGHPRI, 0);
	if (!fl->wq || !fl->quick_wq) {
		if (fl->wq)
			destroy_workqueue(fl->wq);
		if (fl->quick_wq)
			destroy_workqueue(fl->quick_wq);
		kfree(fl);
		return ERR_PTR(-ENOMEM);
	}
	dcache_set_flusher(c, &flusher_ops, fl);
	return fl;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_flusher_create);

/* Every writer stopped first. */
void dcache_flusher_destroy(struct dcache_flusher *fl)
{
	struct dcache *c = fl->cache;

	WARN_ON(!list_empty(&fl->writers));
	dcache_set_flusher(c, NULL, NULL);
	destroy_workqueue(fl->quick_wq);
	destroy_workqueue(fl->wq);
	kfree(fl);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_flusher_destroy);
