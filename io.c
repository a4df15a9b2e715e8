// SPDX-License-Identifier: GPL-2.0
/*
 * The bio paths of a dcache device. dm splits every bio at block
 * boundaries (max_io_len), so a data bio touches exactly one block; map()
 * computes that block and the bytes of it once (dcache_io) and warns if a
 * bio ever crosses into the next block.
 *
 * map() serves what it can without waiting (dcache_try_get: a cached, valid
 * block whose lock is free; an ordered-mode flush, which only closes the
 * epoch) and queues everything else (misses, partial writes to uncached
 * blocks, write-back flushes, discards, write-through, ordered writers held
 * for an older stage) to the device's workqueue, one work item per bio, so
 * many misses wait on the backing device at once and the submitter never
 * does.
 *
 * Both map() and the work item dispatch on the kind decided once in map,
 * and every handler returns an io_result that one switch, io_finish(),
 * acts on: the only place where a bio is ended, remapped or queued.
 *
 * Locking: a bio holds at most one block lock, from get to put (cache.c).
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
	io->len = bio->bi_iter.bi_size;
	/* max_io_len keeps bios inside one block; the paths below rely on it. */
	WARN_ON_ONCE(io->offset + io->len > dd->block_size);
}

static bool io_covers_block(struct dcache_dev *dd, const struct dcache_io *io)
{
	return !io->offset && io->len == dd->block_size;
}

static void copy_bio_block(const struct dcache_io *io, struct bio *bio,
			   struct dcache_block *b, bool to_block)
{
	char *data = dcache_block_data(b) + io->offset;
	struct bvec_iter iter;
	struct bio_vec bv;

	bio_for_each_segment(bv, bio, iter) {
		if (to_block)
			memcpy_from_bvec(data, &bv);
		else
			memcpy_to_bvec(&bv, data);
		data += bv.bv_len;
	}
}

static enum io_result read_hit(const struct dcache_io *io, struct bio *bio,
			       struct dcache_block *b)
{
	copy_bio_block(io, bio, b, false);
	dcache_put(b, DCACHE_READ);
	return IO_DONE;
}

static enum dcache_mode dev_mode(struct dcache_dev *dd)
{
	return READ_ONCE(dd->mode);
}

/*
 * A write-back write into a block held exclusive; the block is put, and
 * on success the bio is done. Nothing is written on error (see
 * dcache_mark_dirty): -EAGAIN and -ENOSPC ask the caller to wait
 * (dcache_writer_wait) and retry; any other error fails the bio.
 */
static int write_back_into(const struct dcache_io *io, struct bio *bio,
			   struct dcache_block *b, enum dcache_access access)
{
	struct dcache_dev *dd = io->dd;
	bool ordered = dev_mode(dd) == DCACHE_MODE_ORDERED;
	unsigned int max_age;
	int r;

	r = dcache_mark_dirty(b, ordered);
	if (r) {
		/* A clean block got for a whole write may hold no data yet. */
		if (access == DCACHE_WRITE && !dcache_block_dirty(b))
			dcache_invalidate(b);
		dcache_put(b, access);
		return r;
	}
	copy_bio_block(io, bio, b, true);
	dcache_put(b, access);
	if (ordered) {
		/* FUA orders only: later writes go to a later epoch. */
		if (bio->bi_opf & REQ_FUA)
			dcache_close_epoch(dd->part->cache);
		max_age = READ_ONCE(dd->max_age_ms);
		if (max_age)
			dcache_writer_kick_within(dd->wr, max_age);
	}
	return 0;
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
	if (!(extra & REQ_FUA))
		dcache_writer_owe_flush(dd->wr);
	r = submit_bio_wait(&bio);
	bio_uninit(&bio);
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

	copy_bio_block(io, bio, b, true);
	r = write_through_block(io->dd, b, bio->bi_opf & REQ_FUA);
	if (r && dcache_block_dirty(b))
		/* Older acknowledged data of the block still needs writing back. */
		dcache_mark_dirty(b, false);
	else if (r)
		/* Neither copy is known good: the next read goes to the disk. */
		dcache_invalidate(b);
	else
		dcache_clean(b);
	dcache_put(b, access);
	return r;
}

static enum io_result io_write(struct dcache_io *io, struct bio *bio)
{
	struct dcache_dev *dd = io->dd;
	enum dcache_access access = io_covers_block(dd, io) ? DCACHE_WRITE : DCACHE_RDWR;
	struct dcache_block *b;
	int r;

	for (;;) {
		r = dcache_get(dd->part, io->block, access, false, &b);
		if (r)
			return io_status(bio, r);
		if (writes_through(dd, bio)) {
			/*
			 * Dirt left from another mode may be of an ordered
			 * epoch: write it back in its stage, not through.
			 */
			if (dev_mode(dd) != DCACHE_MODE_WRITETHROUGH ||
			    !dcache_block_dirty(b))
				return io_status(bio, write_through(io, bio, b, access));
			dcache_put(b, access);
			r = dcache_writer_flush(dd->wr);
		} else {
			r = write_back_into(io, bio, b, access);
			if (!r)
				return IO_DONE;
			if (must_wait(r))
				r = dcache_writer_wait(dd->wr, io->block,
						       dev_mode(dd) == DCACHE_MODE_ORDERED);
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

static enum io_result map_flush(struct dcache_dev *dd, struct bio *bio)
{
	atomic64_inc(&dd->stats.flushes);
	switch (dev_mode(dd)) {
	case DCACHE_MODE_ORDERED:
		/* Order, not durability: close the epoch, done. */
		dcache_close_epoch(dd->part->cache);
		return IO_DONE;
	case DCACHE_MODE_WRITETHROUGH:
		/* Unless dirt is left from another mode, all is on the disk. */
		if (!READ_ONCE(dd->part->nr_dirty))
			return IO_REMAP;
		fallthrough;
	default:
		return IO_DEFER;
	}
}

static enum io_result map_read(struct dcache_io *io, struct bio *bio)
{
	struct dcache_dev *dd = io->dd;
	struct dcache_block *b;

	atomic64_inc(&dd->stats.reads);
	b = dcache_try_get(dd->part, io->block, DCACHE_READ);
	if (!b)
		return IO_DEFER;
	atomic64_inc(&dd->stats.read_hits);
	return read_hit(io, bio, b);
}

static enum io_result map_write(struct dcache_io *io, struct bio *bio)
{
	struct dcache_dev *dd = io->dd;
	enum dcache_access access;
	struct dcache_block *b;

	atomic64_inc(&dd->stats.writes);
	if (writes_through(dd, bio))
		return IO_DEFER;
	access = io_covers_block(dd, io) ? DCACHE_WRITE : DCACHE_RDWR;
	b = dcache_try_get(dd->part, io->block, access);
	if (!b)
		return IO_DEFER;
	atomic64_inc(&dd->stats.write_hits);
	if (write_back_into(io, bio, b, access))
		return IO_DEFER;
	return IO_DONE;
}

int dcache_map_bio(struct dcache_dev *dd, struct bio *bio)
{
	struct dcache_io *io = dm_per_bio_data(bio, sizeof(*io));
	enum io_result r;

	io_classify(dd, bio, io);
	switch (io->kind) {
	case DCACHE_IO_FLUSH:
		r = map_flush(dd, bio);
		break;
	case DCACHE_IO_READ:
		r = map_read(io, bio);
		break;
	case DCACHE_IO_WRITE:
		r = map_write(io, bio);
		break;
	case DCACHE_IO_DISCARD:
		r = IO_DEFER;
		break;
	default:
		r = IO_KILL;
	}
	return io_finish(dd, bio, r);
}
