// SPDX-License-Identifier: GPL-2.0
/*
 * The bio paths of a dcache device. dm hands map() bios of up to 1 MiB
 * (DCACHE_MAX_IO_SECTORS), which may start and end inside a block.
 *
 * map() serves what it can without waiting (dcache_try_get: cached, valid
 * blocks whose locks are free; whole-block writes of blocks the cache has
 * none for, into a free block or a clean victim; an ordered-mode flush,
 * which only closes the epoch; a writeback-mode flush with a few dirty
 * blocks of its epoch, which copies them and sends their writes from
 * here, the disk's flush following from their end: flush.c's quick
 * flush). Of a bio of many blocks it serves the
 * blocks it can from the first on, keeps those (dm_accept_partial_bio) and
 * leaves dm to send the rest back as a new bio, as dm-writecache does. A
 * read whose blocks are not cached goes to the disk as it is when it is
 * part of a stream longer than the device's sequential_cutoff, or when
 * read admission does not take its blocks in yet (admit.c: with
 * read_admit 2, on a block's first miss). Other reads of blocks the cache
 * has no block for at all take fresh blocks for them and fill them with
 * one backing read sent from map(); the bio ends when that read does
 * (read_miss). A read that continues a stream below the cut-off keeps the
 * device's readahead window after it loading the same way, with no bio of
 * dm's waiting (read_ahead): suspend and removal wait for those loads
 * (dcache_wait_aheads). Writes of whole blocks in writethrough mode, FUA
 * writes in writeback mode, and the write after each flush of a writer
 * that flushes after every write go to the disk as they are (write-around,
 * write_around), their blocks taking the data and held loading until
 * they land (dcache_end_bio), or in writeback mode, where the cache has
 * no block for them, taking none (write_around_uncached). Everything
 * else (busy blocks, a full cache, partial writes to uncached blocks,
 * write-back flushes, discards, write-through, ordered writers held for
 * an older stage) goes to the device's workqueue one block at a time,
 * one work item per bio, so many of them wait on the backing device at
 * once and the submitter never does.
 *
 * Both map() and the work item dispatch on the kind decided once in map,
 * and every handler returns an io_result that one switch, io_finish(),
 * acts on: the only place where a bio is ended, remapped or queued.
 *
 * Locking: a bio holds at most one block lock, from get to put (cache.c);
 * a read miss or a write-around holds none, only its blocks' pins and
 * loading bits, or its range's claim. A quick flush holds its blocks'
 * locks shared for their copies only, each taken by trylock
 * (dcache_take_whole_dirt), so it never waits for another.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/slab.h>

#include "dcache_target.h"

/* What becomes of a bio once its handler returns. */
enum io_result {
	IO_DONE,	/* complete: end it with its bi_status */
	IO_REMAP,	/* send it on to the backing device */
	IO_DEFER,	/* map() only: run it from the device's workqueue */
	IO_KILL,	/* map() only: an operation dcache does not take */
	IO_PENDING,	/* map() only: its own I/O ends it later */
};

static enum io_result io_status(struct bio *bio, int error)
{
	bio->bi_status = errno_to_blk_status(error);
	return IO_DONE;
}

static void io_work(struct work_struct *work);

/*
 * The one exit of every bio path. Returns what map() returns to dm; the
 * work item submits a remapped bio itself.
 */
static int io_finish(struct dcache_dev *dd, struct bio *bio, enum io_result r)
{
	struct dcache_io *io;

	switch (r) {
	case IO_DONE:
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	case IO_REMAP:
		bio_set_dev(bio, dd->backing->bdev);
		return DM_MAPIO_REMAPPED;
	case IO_DEFER:
		io = dm_per_bio_data(bio, sizeof(*io));
		INIT_WORK(&io->work, io_work);
		queue_work(dd->wq, &io->work);
		return DM_MAPIO_SUBMITTED;
	case IO_PENDING:
		return DM_MAPIO_SUBMITTED;
	case IO_KILL:
	default:
		return DM_MAPIO_KILL;
	}
}

/* Decide once what @bio asks for and, for data, which bytes of which block. */
static void io_classify(struct dcache_dev *dd, struct bio *bio, struct dcache_io *io)
{
	sector_t sector;

	io->dd = dd;
	if (bio->bi_opf & REQ_PREFLUSH) {
		io->kind = DCACHE_IO_FLUSH;
		return;
	}
	switch (bio_op(bio)) {
	case REQ_OP_READ:
		io->kind = DCACHE_IO_READ;
		break;
	case REQ_OP_WRITE:
		io->kind = DCACHE_IO_WRITE;
		break;
	case REQ_OP_DISCARD:
		io->kind = DCACHE_IO_DISCARD;
		return;
	default:
		io->kind = DCACHE_IO_UNSUPPORTED;
		return;
	}
	sector = dm_target_offset(dd->ti, bio->bi_iter.bi_sector);
	io->block = sector >> dd->block_shift;
	io->offset = (sector & ((1U << dd->block_shift) - 1)) << SECTOR_SHIFT;
	io->len = min(bio->bi_iter.bi_size, dd->block_size - io->offset);
}

static bool covers_block(struct dcache_dev *dd, unsigned int offset, unsigned int len)
{
	return !offset && len == dd->block_size;
}

/* Copy @len bytes between @bio at @iter (which moves past them) and @b. */
static void copy_block_bytes(struct bio *bio, struct bvec_iter *iter,
			     struct dcache_block *b, unsigned int offset,
			     unsigned int len, bool to_block)
{
	char *data = dcache_block_data(b) + offset;
	struct bio_vec bv;

	while (len) {
		bv = bio_iter_iovec(bio, *iter);
		bv.bv_len = min(bv.bv_len, len);
		if (to_block)
			memcpy_from_bvec(data, &bv);
		else
			memcpy_to_bvec(&bv, data);
		bio_advance_iter_single(bio, iter, bv.bv_len);
		data += bv.bv_len;
		len -= bv.bv_len;
	}
}

/*
 * Copy the @nr blocks at @blocks, from @offset in the first, into @bio at
 * @iter (which moves past them), @left bytes at most: the bytes copied.
 * One call per run, not per block: a cached read copies a run at a time.
 */
static unsigned int copy_run_to_bio(struct bio *bio, struct bvec_iter *iter,
				    struct dcache_block **blocks, unsigned int nr,
				    unsigned int offset, unsigned int left,
				    unsigned int block_size)
{
	unsigned int copied = 0, len, i;

	for (i = 0; i < nr && copied < left; i++) {
		len = min(left - copied, block_size - offset);
		copy_block_bytes(bio, iter, blocks[i], offset, len, false);
		copied += len;
		offset = 0;
	}
	return copied;
}

/* The work item's bio is one block's bytes: io->offset, io->len. */
static void copy_io_block(const struct dcache_io *io, struct bio *bio,
			  struct dcache_block *b, bool to_block)
{
	struct bvec_iter iter = bio->bi_iter;

	copy_block_bytes(bio, &iter, b, io->offset, io->len, to_block);
}

static enum io_result read_hit(const struct dcache_io *io, struct bio *bio,
			       struct dcache_block *b)
{
	copy_io_block(io, bio, b, false);
	dcache_put(b, DCACHE_READ);
	return IO_DONE;
}

static enum dcache_mode dev_mode(struct dcache_dev *dd)
{
	return READ_ONCE(dd->mode);
}

/*
 * A write-back write of @len bytes at @offset of a block held exclusive,
 * from @bio at @iter; the block is put. Nothing is written on error (see
 * dcache_mark_dirty) and @iter stays: -EAGAIN and -ENOSPC ask the caller
 * to wait (dcache_writer_wait), -ENOMEM for stage progress (no page for
 * copy-on-write), and to retry; any other error fails the bio.
 */
static int write_back_into(struct dcache_dev *dd, struct bio *bio,
			   struct bvec_iter *iter, struct dcache_block *b,
			   unsigned int offset, unsigned int len,
			   enum dcache_access access, gfp_t gfp)
{
	bool ordered = dev_mode(dd) == DCACHE_MODE_ORDERED;
	struct dcache_version *spare = NULL;
	int r;

	/*
	 * Ordered: a dirty block may hold an older epoch's data that its
	 * stage has not copied yet; the core keeps it in a spare version
	 * rather than hold the writer (copy-on-write). The hint is read
	 * without the mutex: -ENOMEM says it was wrong.
	 */
	if (ordered && dcache_block_of_closed_epoch(dd->part, b))
		spare = dcache_alloc_version(gfp);
	r = dcache_mark_dirty(b, ordered, &spare);
	if (r == -ENOMEM) {
		spare = dcache_alloc_version(gfp);
		if (spare)
			r = dcache_mark_dirty(b, ordered, &spare);
	}
	dcache_free_version(spare);
	if (r) {
		/* A clean block got for a whole write may hold no data yet. */
		if (access == DCACHE_WRITE && !dcache_block_dirty(b))
			dcache_invalidate(b);
		dcache_put(b, access);
		return r;
	}
	copy_block_bytes(bio, iter, b, offset, len, true);
	dcache_put(b, access);
	return 0;
}

/* What a closed ordered epoch waits for its round, at least. */
#define ORDERED_ROUND_MS	1000U

/*
 * Ordered: close the device's open epoch. A closed epoch is owed to the
 * disk as a stage of its own, which no later write can merge into, so its
 * round is due within a fifth of the flush delay (1 s by default), not the
 * whole delay: waiting would only grow the lag and the versions kept. A
 * user who sets a long delay to hold write-back back still gets it held.
 */
static void close_ordered_epoch(struct dcache_dev *dd)
{
	unsigned int delay = READ_ONCE(dcache_flush_delay_ms);

	dcache_close_epoch(dd->part);
	dcache_writer_kick_within(dd->wr, min(delay, max(delay / 5, ORDERED_ROUND_MS)));
}

/* After a write-back bio's data is all in the cache. */
static void write_back_done(struct dcache_dev *dd, struct bio *bio)
{
	unsigned int max_age;

	if (dev_mode(dd) != DCACHE_MODE_ORDERED)
		return;
	/* FUA orders only: later writes go to a later epoch. */
	if (bio->bi_opf & REQ_FUA)
		close_ordered_epoch(dd);
	max_age = READ_ONCE(dd->max_age_ms);
	if (max_age)
		dcache_writer_kick_within(dd->wr, max_age);
}

static bool must_wait(int r)
{
	return r == -EAGAIN || r == -ENOSPC;
}

/*
 * Write-through: write the whole block, which the caller holds, to the
 * backing device and wait (a write-back copy is the flusher's business).
 */
static int write_through_block(struct dcache_dev *dd, struct dcache_block *b,
			       blk_opf_t extra)
{
	void *data = dcache_block_data(b);
	struct bio_vec bv;
	struct bio bio;
	int r;

	/* An older copy still in flight must not land after this one. */
	dcache_wait_copy(b);
	bio_init(&bio, dd->backing->bdev, &bv, 1, REQ_OP_WRITE | REQ_SYNC | extra);
	bio.bi_iter.bi_sector = dcache_block_sector(dd->part, b);
	__bio_add_page(&bio, virt_to_page(data), dd->block_size, offset_in_page(data));
	r = submit_bio_wait(&bio);
	bio_uninit(&bio);
	/*
	 * Owed once it has landed, not before: a flush that a round pays
	 * while the write is in flight need not cover it, and must not
	 * settle what is owed for it.
	 */
	if (!(extra & REQ_FUA))
		dcache_writer_owe_flush(dd->wr);
	dcache_account_write(dd->part->cache, 1, dd->block_size, r);
	return r;
}

static bool writes_through(struct dcache_dev *dd, struct bio *bio)
{
	enum dcache_mode mode = dev_mode(dd);

	return mode == DCACHE_MODE_WRITETHROUGH ||
	       (mode == DCACHE_MODE_WRITEBACK && (bio->bi_opf & REQ_FUA));
}

static enum io_result io_read(struct dcache_io *io, struct bio *bio)
{
	struct dcache_block *b;
	int r;

	r = dcache_get(io->dd->part, io->block, DCACHE_READ, false, &b);
	if (r)
		return io_status(bio, r);
	return read_hit(io, bio, b);
}

/*
 * The write-through half of io_write, for the block @b got for @access:
 * the whole block goes, so older dirty data of it is written too.
 */
static int write_through(struct dcache_io *io, struct bio *bio,
			 struct dcache_block *b, enum dcache_access access)
{
	int r;

	copy_io_block(io, bio, b, true);
	r = write_through_block(io->dd, b, bio->bi_opf & REQ_FUA);
	if (r && dcache_block_dirty(b))
		/* Older acknowledged data of the block still needs writing back. */
		dcache_mark_dirty(b, false, NULL);
	else if (r)
		/* Neither copy is known good: the next read goes to the disk. */
		dcache_invalidate(b);
	else
		dcache_clean(b);
	dcache_put(b, access);
	return r;
}

/* Ordered with max_age_ms: writers wait while the disk lags (flush.c). */
static unsigned int throttle_age(struct dcache_dev *dd)
{
	return dev_mode(dd) == DCACHE_MODE_ORDERED ? READ_ONCE(dd->max_age_ms) : 0;
}

static enum io_result io_write(struct dcache_io *io, struct bio *bio)
{
	struct dcache_dev *dd = io->dd;
	enum dcache_access access = covers_block(dd, io->offset, io->len) ?
				    DCACHE_WRITE : DCACHE_RDWR;
	struct bvec_iter iter = bio->bi_iter;
	unsigned int max_age = throttle_age(dd);
	unsigned long since = jiffies;
	bool cow_waited = false;
	struct dcache_block *b;
	int r;

	if (max_age) {
		r = dcache_writer_throttle(dd->wr, max_age);
		if (r < 0)
			return io_status(bio, r);
		if (r)
			atomic64_inc(&dd->stats.write_throttles);
	}
	for (;;) {
		r = dcache_get(dd->part, io->block, access, false, &b);
		if (r)
			return io_status(bio, r);
		if (writes_through(dd, bio)) {
			/*
			 * Dirt left from another mode may be of an ordered
			 * epoch: write it back in its stage, not through. So
			 * must ordered discards still queued be, before any
			 * write goes through: one of this block would land
			 * after the write and erase it.
			 */
			if ((dev_mode(dd) != DCACHE_MODE_WRITETHROUGH ||
			     !dcache_block_dirty(b)) && !dcache_discards_pending(dd->part))
				return io_status(bio, write_through(io, bio, b, access));
			dcache_put(b, access);
			r = dcache_writer_flush(dd->wr);
		} else {
			r = write_back_into(dd, bio, &iter, b, io->offset, io->len,
					    access, GFP_NOIO);
			if (!r) {
				write_back_done(dd, bio);
				return IO_DONE;
			}
			/* One stall however often the retry finds none. */
			if (r == -EAGAIN && !cow_waited) {
				dcache_account_cow_wait(dd->part->cache);
				cow_waited = true;
			}
			if (must_wait(r))
				r = dcache_writer_wait(dd->wr, io->block,
						       dev_mode(dd) == DCACHE_MODE_ORDERED);
			else if (r == -ENOMEM)
				r = dcache_writer_wait_progress(dd->wr,
								dcache_stage_gen(dd->part->cache),
								since);
		}
		if (r)
			return io_status(bio, r);
	}
}

/*
 * Wait until the cached blocks [@first, @last) are forgotten (and in
 * ordered mode the discard is queued for its stage as @queued).
 */
static int discard_blocks(struct dcache_dev *dd, u64 first, u64 last,
			  struct dcache_discard *queued)
{
	struct dcache *c = dd->part->cache;
	unsigned long since = jiffies;
	u64 epoch;
	int r, gen;

	for (;;) {
		gen = dcache_stage_gen(c);
		if (dcache_discard_range(dd->part, first, last - first, queued, &epoch) != -EAGAIN)
			return 0;
		if (!queued) {
			/* A block in use: its holder lets go soon. */
			schedule_timeout_uninterruptible(1);
			continue;
		}
		r = dcache_writer_wait_progress(dd->wr, gen, since);
		if (r)
			return r;
	}
}

/*
 * Forget the whole blocks of a discard. In ordered mode the discard is a
 * write of the open epoch and reaches the disk in that epoch's stage
 * (flush.c), after every older stage; otherwise it goes down at once.
 */
static enum io_result io_discard(struct dcache_dev *dd, struct bio *bio)
{
	sector_t start = dm_target_offset(dd->ti, bio->bi_iter.bi_sector);
	sector_t end = start + bio_sectors(bio);
	sector_t per_block = 1U << dd->block_shift;
	u64 first = DIV_ROUND_UP(start, per_block), last = end >> dd->block_shift;
	bool ordered = dev_mode(dd) == DCACHE_MODE_ORDERED;
	struct dcache_discard *queued = NULL;
	int r;

	if (last <= first)
		return IO_DONE;	/* no whole block: nothing to forget or order */
	if (ordered) {
		/* Without memory the discard is dropped: it is only advice. */
		queued = kmalloc(sizeof(*queued), GFP_NOIO);
		if (!queued)
			return IO_DONE;
	}
	r = discard_blocks(dd, first, last, queued);
	if (r) {
		kfree(queued);
		return io_status(bio, r);
	}
	if (!ordered && bdev_max_discard_sectors(dd->backing->bdev)) {
		dcache_writer_owe_flush(dd->wr);
		bio->bi_iter.bi_sector = start;
		return IO_REMAP;
	}
	return IO_DONE;
}

static void io_work(struct work_struct *work)
{
	struct dcache_io *io = container_of(work, struct dcache_io, work);
	struct bio *bio = dm_bio_from_per_bio_data(io, sizeof(*io));
	struct dcache_dev *dd = io->dd;
	enum io_result r;

	/* map() hands the work item one block of a bio at a time. */
	WARN_ON_ONCE((io->kind == DCACHE_IO_READ || io->kind == DCACHE_IO_WRITE) &&
		     bio->bi_iter.bi_size != io->len);
	switch (io->kind) {
	case DCACHE_IO_FLUSH:
		r = io_status(bio, dcache_writer_flush(dd->wr));
		break;
	case DCACHE_IO_READ:
		r = io_read(io, bio);
		break;
	case DCACHE_IO_WRITE:
		r = io_write(io, bio);
		break;
	case DCACHE_IO_DISCARD:
		r = io_discard(dd, bio);
		break;
	default:
		bio->bi_status = BLK_STS_NOTSUPP;
		r = IO_DONE;
	}
	if (io_finish(dd, bio, r) == DM_MAPIO_REMAPPED)
		submit_bio_noacct(bio);
}

/* The end of a flush bio's quick flush; -EAGAIN: flush it the long way. */
static void quick_flush_done(struct dcache_flush_req *req, int error)
{
	struct dcache_io *io = container_of(req, struct dcache_io, quick);
	struct bio *bio = dm_bio_from_per_bio_data(io, sizeof(*io));

	if (error == -EAGAIN)
		io_finish(io->dd, bio, IO_DEFER);
	else
		io_finish(io->dd, bio, io_status(bio, error));
}

/*
 * A flush request: a writer whose last flush came after one write bio
 * flushes after every write (a log, fio's fsync=1). A flush with no write
 * before it (a repeated fsync) says nothing either way.
 */
static void note_flush(struct dcache_dev *dd)
{
	unsigned int writes = READ_ONCE(dd->writes_since_flush);

	/* A write ends before its flush: what comes after is a new one. */
	WRITE_ONCE(dd->write_rest, (sector_t)-1);
	if (!writes)
		return;
	WRITE_ONCE(dd->sync_writer, writes == 1);
	WRITE_ONCE(dd->writes_since_flush, 0);
}

static enum io_result map_flush(struct dcache_dev *dd, struct bio *bio)
{
	struct dcache_io *io = dm_per_bio_data(bio, sizeof(*io));

	atomic64_inc(&dd->stats.flushes);
	note_flush(dd);
	switch (dev_mode(dd)) {
	case DCACHE_MODE_ORDERED:
		/* Order, not durability: close the epoch, done. */
		close_ordered_epoch(dd);
		return IO_DONE;
	default:
		/*
		 * Nothing dirty: no round needed, and no thread hop. The disk's
		 * own flush is sent on only if writes reached it since its
		 * last one (write-through, discards, a round under way).
		 */
		if (!READ_ONCE(dd->part->nr_dirty))
			return dcache_writer_owes_flush(dd->wr) ? IO_REMAP : IO_DONE;
		/* Little dirty: its writes and flush go out from here. */
		io->quick.done = quick_flush_done;
		if (dcache_writer_quick_flush(dd->wr, &io->quick))
			return IO_DEFER;
		atomic64_inc(&dd->stats.quick_flushes);
		return IO_PENDING;
	}
}

/*
 * Follow the device's read stream with @bio; returns the stream's length
 * in bytes with it. The rest of a bio seen before (dm sends it back after
 * dm_accept_partial_bio) neither extends nor breaks it.
 */
static u64 read_stream(struct dcache_dev *dd, struct bio *bio)
{
	sector_t next = READ_ONCE(dd->stream_next);
	u64 stream = READ_ONCE(dd->stream_bytes);

	if (bio->bi_iter.bi_sector == next) {
		stream += bio->bi_iter.bi_size;
		WRITE_ONCE(dd->stream_next, bio_end_sector(bio));
		WRITE_ONCE(dd->stream_bytes, stream);
	} else if (bio_end_sector(bio) != next) {
		stream = bio->bi_iter.bi_size;
		WRITE_ONCE(dd->stream_next, bio_end_sector(bio));
		WRITE_ONCE(dd->stream_bytes, stream);
	}
	return stream;
}

/* Keep the first @bytes of @bio for this call; dm sends the rest again. */
static void keep_first(struct bio *bio, unsigned int bytes)
{
	if (bytes < bio->bi_iter.bi_size)
		dm_accept_partial_bio(bio, bytes >> SECTOR_SHIFT);
}

/*
 * A read whose first block is not cached, of a stream or not admitted:
 * send to the disk the blocks from there on that no block of the cache
 * stands for (@run of them, found by dcache_try_read_run). Blocks not
 * admitted are remembered (a second miss takes them in); a stream's are
 * not, so that a scan of the disk does not wash the random misses out of
 * read admission's table.
 */
static enum io_result read_around(struct dcache_io *io, struct bio *bio, bool streaming,
				  unsigned int run)
{
	struct dcache_dev *dd = io->dd;
	unsigned int bytes = bio->bi_iter.bi_size;
	unsigned int nr = DIV_ROUND_UP(io->offset + bytes, dd->block_size);

	if (!run)
		return IO_DEFER;
	if (run < nr)
		keep_first(bio, run * dd->block_size - io->offset);
	if (!streaming)
		dcache_admit_note(&dd->admit, io->block, run);
	atomic64_add(run, &dd->stats.reads);
	atomic64_add(run, &dd->stats.read_bypasses);
	bio->bi_iter.bi_sector = dm_target_offset(dd->ti, bio->bi_iter.bi_sector);
	return IO_REMAP;
}

/* The most blocks one backing read of a miss fills. */
#define MISS_RUN	64

/*
 * Blocks pinned and loading for one backing I/O in flight: the read of a
 * miss or of a load ahead, which fills them, or a write-around, which
 * they take the data of.
 */
struct pinned_run {
	/* The reader's (ended by read_miss_end) or the writer's; NULL ahead. */
	struct bio *bio;
	struct dcache_dev *dd;
	struct llist_node done;		/* in dd->misses_done once ended */
	unsigned int offset;		/* of the bio in the first block */
	unsigned int nr;
	struct dcache_block *blocks[];
};

/*
 * The pins go in process context, after the bios have ended: one run for
 * every miss and write-around that ended meanwhile, not one per I/O.
 */
static void unpin_ended_runs(struct dcache_dev *dd)
{
	struct pinned_run *rm, *next;

	llist_for_each_entry_safe(rm, next, llist_del_all(&dd->misses_done), done) {
		dcache_unpin_run(rm->blocks, rm->nr);
		/* In this work, not the bio's end: the waiter flushes it. */
		if (!rm->bio && atomic_dec_and_test(&dd->aheads_in_flight))
			wake_up(&dd->aheads_wait);
		kfree(rm);
	}
}

void dcache_unpin_misses(struct work_struct *work)
{
	unpin_ended_runs(container_of(to_delayed_work(work), struct dcache_dev,
				      unpin_work));
}

/*
 * A run's I/O ended, in any context. A read miss's pins go at once (a
 * reader may be waiting to take its block), or with the runs already
 * waiting, within a jiffy. A write-around's wait a jiffy, for the next
 * write-around to drop them without the work's wake-up (a writer that
 * flushes after every write would pay for one per write).
 */
static void run_ended(struct dcache_dev *dd, struct pinned_run *rm, bool now)
{
	if (!llist_add(&rm->done, &dd->misses_done))
		return;
	if (now)
		mod_delayed_work(dd->wq, &dd->unpin_work, 0);
	else
		queue_delayed_work(dd->wq, &dd->unpin_work, 1);
}

/*
 * Before a suspend or a removal: no load ahead is in flight (dm waits for
 * its own bios, not for these) and none of their pins is left.
 */
void dcache_wait_aheads(struct dcache_dev *dd)
{
	wait_event(dd->aheads_wait, !atomic_read(&dd->aheads_in_flight));
	flush_delayed_work(&dd->unpin_work);
}

/* Copy the loaded blocks of @rm into its reader's bio. */
static void read_miss_copy(struct pinned_run *rm)
{
	struct bio *bio = rm->bio;
	struct bvec_iter iter = bio->bi_iter;

	copy_run_to_bio(bio, &iter, rm->blocks, rm->nr, rm->offset, iter.bi_size,
			rm->dd->block_size);
}

static void read_miss_end(struct bio *load)
{
	struct pinned_run *rm = load->bi_private;
	struct bio *bio = rm->bio;
	int error = blk_status_to_errno(load->bi_status);

	bio_put(load);
	/* Still loading: no writer can change the blocks under the copy. */
	if (bio && !error)
		read_miss_copy(rm);
	dcache_load_run_end(rm->blocks, rm->nr, error);
	/* Queued before the bio ends: the device's removal flushes it. */
	run_ended(rm->dd, rm, true);
	if (bio) {
		bio->bi_status = errno_to_blk_status(error);
		bio_endio(bio);
	}
}

/* One backing read filling the @nr pinned, loading blocks of @rm. */
static struct bio *run_load_bio(struct dcache_dev *dd, struct pinned_run *rm,
				unsigned int nr)
{
	struct dcache_part *part = dd->part;
	struct bio *load;
	unsigned int i;
	void *data;

	load = bio_alloc_bioset(dd->backing->bdev, nr, REQ_OP_READ, GFP_NOWAIT,
				dcache_bio_set(part->cache));
	if (!load)
		return NULL;
	load->bi_iter.bi_sector = dcache_block_sector(part, rm->blocks[0]);
	for (i = 0; i < nr; i++) {
		data = dcache_block_data(rm->blocks[i]);
		__bio_add_page(load, virt_to_page(data), dd->block_size, offset_in_page(data));
	}
	load->bi_private = rm;
	load->bi_end_io = read_miss_end;
	rm->dd = dd;
	rm->nr = nr;
	return load;
}

/*
 * Pin up to @nr blocks from @addr that the cache has none for (@ahead: as
 * readahead may, see dcache_pin_ahead_run) and build the one backing read
 * that fills them, in *@load. NULL when no block or memory is free now:
 * neither path waits in map().
 */
static struct pinned_run *pin_run_load(struct dcache_dev *dd, u64 addr, unsigned int nr,
				       bool ahead, struct bio **load)
{
	struct pinned_run *rm;

	rm = kmalloc(struct_size(rm, blocks, nr), GFP_NOWAIT | __GFP_NOWARN);
	if (!rm)
		return NULL;
	nr = ahead ? dcache_pin_ahead_run(dd->part, addr, nr, rm->blocks) :
		     dcache_pin_uncached_run(dd->part, addr, nr, rm->blocks);
	if (nr) {
		*load = run_load_bio(dd, rm, nr);
		if (*load)
			return rm;
		dcache_abandon_load_run(rm->blocks, nr);
	}
	kfree(rm);
	return NULL;
}

/*
 * A read whose first block is not cached at all: fill it and the uncached
 * blocks after it with one backing read, from map(), and end the bio when
 * that read ends; no worker waits for it. IO_DEFER (the work item) when
 * the block is cached but busy, or no block or memory is free right now.
 */
static enum io_result read_miss(struct dcache_io *io, struct bio *bio)
{
	struct dcache_dev *dd = io->dd;
	unsigned int nr = min_t(unsigned int, MISS_RUN,
				DIV_ROUND_UP(io->offset + bio->bi_iter.bi_size, dd->block_size));
	struct pinned_run *rm;
	struct bio *load;

	rm = pin_run_load(dd, io->block, nr, false, &load);
	if (!rm)
		return IO_DEFER;
	rm->bio = bio;
	rm->offset = io->offset;
	nr = rm->nr;
	/* Before the load is sent: its end reads the bio's size. */
	keep_first(bio, nr * dd->block_size - io->offset);
	atomic64_add(nr, &dd->stats.reads);
	dcache_account_read(dd->part->cache, nr * dd->block_size);
	submit_bio_noacct(load);
	return IO_PENDING;
}

/*
 * Load up to @nr blocks from @addr ahead of a reader, with one backing
 * read: only blocks the cache has none for, in free blocks or victims
 * used once at most. Returns how many; 0 when the first is cached or no
 * block or memory is free now (readahead is a hint: it never waits).
 */
static unsigned int load_ahead(struct dcache_dev *dd, u64 addr, unsigned int nr)
{
	struct pinned_run *rm;
	struct bio *load;

	rm = pin_run_load(dd, addr, nr, true, &load);
	if (!rm)
		return 0;
	rm->bio = NULL;
	rm->offset = 0;
	nr = rm->nr;
	atomic_inc(&dd->aheads_in_flight);
	atomic64_add(nr, &dd->stats.read_aheads);
	dcache_account_read(dd->part->cache, nr * dd->block_size);
	submit_bio_noacct(load);
	return nr;
}

/*
 * A reader of a stream (below the cut-off) is at block @from: keep the
 * device's readahead window of blocks after it loading, topped up once
 * the reader is within half a window of its end, so that the stream's
 * next reads find their blocks cached or on the way.
 */
static void read_ahead(struct dcache_dev *dd, u64 from)
{
	u64 window = READ_ONCE(dd->readahead) / dd->block_size;
	u64 end = READ_ONCE(dd->ahead_end), stop, last;
	unsigned int nr;

	if (!window || (end >= from + window / 2 && end <= from + window))
		return;
	/* Behind the reader, or ahead of another stream: start afresh. */
	if (end < from || end > from + window)
		end = from;
	last = dd->ti->len >> dd->block_shift;
	stop = min(from + window, last);
	WRITE_ONCE(dd->ahead_end, from + window);
	while (end < stop) {
		nr = load_ahead(dd, end, min_t(u64, MISS_RUN, stop - end));
		if (!nr)
			break;
		end += nr;
	}
}

/* Whether a read miss of @block takes it into the cache (read_admit). */
static bool admits(struct dcache_dev *dd, u64 block)
{
	if (READ_ONCE(dd->read_admit) == DCACHE_READ_ADMIT_FIRST)
		return true;
	/*
	 * Not on the device's own workqueue: its allocation may wait for
	 * reclaim, which may wait for this device's I/O.
	 */
	if (unlikely(dcache_admit_stale(&dd->admit, dcache_pool_blocks(dd->part->cache))))
		schedule_work(&dd->admit_work);
	return dcache_admit_seen(&dd->admit, block);
}

/* The pool was resized: a table of read misses to match it. */
void dcache_admit_resize_work(struct work_struct *work)
{
	struct dcache_dev *dd = container_of(work, struct dcache_dev, admit_work);

	dcache_admit_resize(&dd->admit, dcache_pool_blocks(dd->part->cache));
}

/* Cached blocks map() reads under one hold of the cache mutex. */
#define READ_RUN	32

static enum io_result map_read_blocks(struct dcache_io *io, struct bio *bio,
				      bool streaming)
{
	struct dcache_dev *dd = io->dd;
	struct bvec_iter iter = bio->bi_iter;
	unsigned int total = iter.bi_size, done = 0, hits = 0, offset = io->offset;
	struct dcache_block *run[READ_RUN];
	unsigned int nr, got, uncached;
	u64 block = io->block;

	while (done < total) {
		uncached = DIV_ROUND_UP(offset + total - done, dd->block_size);
		nr = min_t(unsigned int, READ_RUN, uncached);
		got = dcache_try_read_run(dd->part, block, nr, run, &uncached);
		if (got) {
			done += copy_run_to_bio(bio, &iter, run, got, offset,
						total - done, dd->block_size);
			offset = 0;
		}
		dcache_put_read_run(run, got);
		hits += got;
		block += got;
		if (got < nr)
			break;
	}
	atomic64_add(hits, &dd->stats.reads);
	atomic64_add(hits, &dd->stats.read_hits);
	if (done) {
		keep_first(bio, done);
		return IO_DONE;
	}
	if ((streaming || !admits(dd, io->block)) &&
	    read_around(io, bio, streaming, uncached) == IO_REMAP)
		return IO_REMAP;
	if (read_miss(io, bio) == IO_PENDING)
		return IO_PENDING;
	atomic64_inc(&dd->stats.reads);
	keep_first(bio, io->len);
	return IO_DEFER;
}

/*
 * A read in map(), and then, if it continues a stream that does not go
 * around the cache, the readahead after it: computed first, since a
 * miss's bio may end before map_read_blocks returns.
 */
static enum io_result map_read(struct dcache_io *io, struct bio *bio)
{
	struct dcache_dev *dd = io->dd;
	unsigned int size = bio->bi_iter.bi_size;
	unsigned int cutoff = READ_ONCE(dd->sequential_cutoff);
	u64 stream = read_stream(dd, bio);
	u64 end = io->block + DIV_ROUND_UP(io->offset + size, dd->block_size);
	bool streaming = cutoff && stream >= cutoff;
	enum io_result r;

	r = map_read_blocks(io, bio, streaming);
	if (!streaming && stream > size)
		read_ahead(dd, end);
	return r;
}

/*
 * Whether a write goes around the cache (write_around): in writethrough
 * mode, every one; in writeback mode, FUA writes and, for a writer that
 * flushes after every write (note_flush), the first write since the last
 * flush, so that its flush finds nothing dirty and sends only the disk's
 * flush, as with no cache in between. Absorbing the write instead would
 * put the disk's write after the flush request, with the copy, the quick
 * flush and a thread hop before the disk's flush. Counts the write, once:
 * the rest of a write that map() kept part of, dm split or the block
 * layer sent as several bios (note_write_rest) goes as its start went.
 */
static bool writes_around(struct dcache_dev *dd, struct bio *bio)
{
	unsigned int writes = READ_ONCE(dd->writes_since_flush);
	bool around;

	switch (dev_mode(dd)) {
	case DCACHE_MODE_WRITETHROUGH:
		return true;
	case DCACHE_MODE_WRITEBACK:
		break;
	default:
		return false;
	}
	if (bio->bi_iter.bi_sector == READ_ONCE(dd->write_rest))
		return READ_ONCE(dd->write_rest_around);
	if (writes < 2)
		WRITE_ONCE(dd->writes_since_flush, writes + 1);
	around = (bio->bi_opf & REQ_FUA) || (!writes && READ_ONCE(dd->sync_writer));
	WRITE_ONCE(dd->write_rest_around, around);
	return around;
}

/*
 * After map() of a write of @sectors from @start: where the write goes on
 * as a new bio, if it may (writes_around): after a part map() did not
 * keep, which dm sends back; at a max_io_len boundary, where dm splits a
 * write itself; or after a write of 1 MiB or more, which the block layer
 * sends as several bios. (The next write of a stream of large writes with
 * no flush between counts as one with it: a hint, as the counts are; a
 * stream of small ones does not.)
 */
static void note_write_rest(struct dcache_dev *dd, struct bio *bio, sector_t start,
			    unsigned int sectors)
{
	sector_t end = start + bio_sectors(bio), extent = bio_sectors(bio);
	bool boundary = !(dm_target_offset(dd->ti, end) & (DCACHE_MAX_IO_SECTORS - 1));

	if (start == READ_ONCE(dd->write_rest))
		extent += READ_ONCE(dd->write_extent);
	WRITE_ONCE(dd->write_extent, extent);
	WRITE_ONCE(dd->write_rest, end < start + sectors || boundary ||
		   extent >= DCACHE_MAX_IO_SECTORS ? end : (sector_t)-1);
}

/* Send on to the disk the first @nr blocks of write-around @bio. */
static void write_around_remap(struct dcache_io *io, struct bio *bio, unsigned int nr)
{
	struct dcache_dev *dd = io->dd;

	keep_first(bio, nr * dd->block_size);
	io->kind = DCACHE_IO_WRITE_AROUND;
	io->fua = bio->bi_opf & REQ_FUA;
	atomic64_add(nr, &dd->stats.writes);
	atomic64_add(nr, &dd->stats.write_arounds);
	bio->bi_iter.bi_sector = dm_target_offset(dd->ti, bio->bi_iter.bi_sector);
}

/*
 * In writeback mode, a write-around of blocks the cache has none for
 * takes none either: it claims their range (dcache_claim_uncached_write)
 * so that nothing loads them until it lands, and copies nothing. A
 * writer that flushes after every write rarely reads its blocks back
 * soon, and a block per write would cost an eviction, a copy and a
 * second hold of the mutex at its end: about a tenth of a 4 KiB
 * write+fsync loop's speed under qemu, where dm-linear's is the ceiling.
 * Writethrough mode keeps what it writes cached (the pinned run below).
 */
static bool write_around_uncached(struct dcache_io *io, struct bio *bio, unsigned int max)
{
	unsigned int nr;

	nr = dcache_claim_uncached_write(io->dd->part, io->block, max, &io->uncached_slot);
	if (!nr)
		return false;
	io->around = NULL;
	io->uncached_nr = nr;
	write_around_remap(io, bio, nr);
	return true;
}

/*
 * Send a write of whole blocks to the disk from map(), as dm-linear would,
 * after copying its data into the blocks it writes; they stay loading,
 * so no reader sees them and no read miss loads the disk's older data,
 * until it lands (dcache_end_bio). Only blocks nobody holds and that owe
 * the disk nothing (dcache_pin_write_run): no older copy of them can land
 * after it. IO_DEFER, with nothing done, when the first block is not one.
 */
static enum io_result write_around(struct dcache_io *io, struct bio *bio)
{
	struct dcache_dev *dd = io->dd;
	struct bvec_iter iter = bio->bi_iter;
	unsigned int nr = min_t(unsigned int, MISS_RUN, iter.bi_size / dd->block_size);
	struct pinned_run *rm;
	unsigned int i;

	if (io->offset || !nr)
		return IO_DEFER;
	if (dev_mode(dd) == DCACHE_MODE_WRITEBACK && write_around_uncached(io, bio, nr))
		return IO_REMAP;
	if (!llist_empty(&dd->misses_done))
		unpin_ended_runs(dd);
	rm = kmalloc(struct_size(rm, blocks, nr), GFP_NOWAIT | __GFP_NOWARN);
	if (!rm)
		return IO_DEFER;
	nr = dcache_pin_write_run(dd->part, io->block, nr, rm->blocks);
	if (!nr) {
		kfree(rm);
		return IO_DEFER;
	}
	for (i = 0; i < nr; i++)
		copy_block_bytes(bio, &iter, rm->blocks[i], 0, dd->block_size, true);
	rm->bio = bio;
	rm->dd = dd;
	rm->nr = nr;
	rm->offset = 0;
	io->around = rm;
	write_around_remap(io, bio, nr);
	return IO_REMAP;
}

/*
 * dm's end of every bio of the device; only a write-around's needs more:
 * its blocks are clean and valid if it landed, invalid if not, or its
 * claim ends (write_around_uncached); and the disk owes a flush for it
 * (as for write_through_block's, once landed).
 */
int dcache_end_bio(struct dcache_dev *dd, struct bio *bio, blk_status_t *status)
{
	struct dcache_io *io = dm_per_bio_data(bio, sizeof(*io));
	struct pinned_run *rm;
	int error;

	if (io->kind != DCACHE_IO_WRITE_AROUND)
		return DM_ENDIO_DONE;
	rm = io->around;
	error = blk_status_to_errno(*status);
	if (!io->fua)
		dcache_writer_owe_flush(dd->wr);
	if (!rm) {
		dcache_end_uncached_write(dd->part, io->uncached_slot);
		dcache_account_write(dd->part->cache, io->uncached_nr, dd->block_size, error);
		return DM_ENDIO_DONE;
	}
	dcache_write_run_end(rm->blocks, rm->nr, error);
	dcache_account_write(dd->part->cache, rm->nr, dd->block_size, error);
	run_ended(dd, rm, false);
	return DM_ENDIO_DONE;
}

static enum io_result map_write(struct dcache_io *io, struct bio *bio)
{
	struct dcache_dev *dd = io->dd;
	struct bvec_iter iter = bio->bi_iter;
	unsigned int total = iter.bi_size, done = 0, hits = 0, offset = io->offset;
	unsigned int len, max_age = throttle_age(dd), blocks = 0;
	enum dcache_access access;
	u64 block = io->block;
	struct dcache_block *b;
	bool lagging, fresh;

	if (writes_around(dd, bio) && write_around(io, bio) == IO_REMAP)
		return IO_REMAP;
	/* A lagging disk: the work item decides how long the writer waits. */
	lagging = max_age && dcache_writer_lagging(dd->wr, max_age);
	while (!lagging && done < total && !writes_through(dd, bio)) {
		len = min(total - done, dd->block_size - offset);
		access = covers_block(dd, offset, len) ? DCACHE_WRITE : DCACHE_RDWR;
		b = dcache_try_get(dd->part, block, access);
		/* A write into a fresh block is absorbed, but no hit. */
		fresh = !b && access == DCACHE_WRITE;
		if (fresh)
			b = dcache_try_get_new(dd->part, block);
		if (!b || write_back_into(dd, bio, &iter, b, offset, len, access, GFP_NOWAIT))
			break;
		done += len;
		blocks++;
		hits += !fresh;
		block++;
		offset = 0;
	}
	atomic64_add(blocks, &dd->stats.writes);
	atomic64_add(hits, &dd->stats.write_hits);
	if (done) {
		keep_first(bio, done);
		write_back_done(dd, bio);
		return IO_DONE;
	}
	atomic64_inc(&dd->stats.writes);
	keep_first(bio, io->len);
	return IO_DEFER;
}

int dcache_map_bio(struct dcache_dev *dd, struct bio *bio)
{
	struct dcache_io *io = dm_per_bio_data(bio, sizeof(*io));
	unsigned int sectors;
	enum io_result r;
	sector_t start;

	io_classify(dd, bio, io);
	switch (io->kind) {
	case DCACHE_IO_FLUSH:
		r = map_flush(dd, bio);
		break;
	case DCACHE_IO_READ:
		r = map_read(io, bio);
		break;
	case DCACHE_IO_WRITE:
		start = bio->bi_iter.bi_sector;
		sectors = bio_sectors(bio);
		r = map_write(io, bio);
		note_write_rest(dd, bio, start, sectors);
		break;
	case DCACHE_IO_DISCARD:
		r = IO_DEFER;
		break;
	default:
		r = IO_KILL;
	}
	return io_finish(dd, bio, r);
}
