// SPDX-License-Identifier: GPL-2.0
/*
 * The bio paths of a dcache device. dm splits every bio at block
 * boundaries (max_io_len), so a data bio touches exactly one block.
 *
 * map() serves what it can without waiting (dcache_try_get: a cached, valid
 * block whose lock is free; an ordered-mode flush, which only closes the
 * epoch) and queues everything else (misses, partial writes to uncached
 * blocks, write-back flushes, discards, write-through, ordered writers held
 * for an older stage) to the device's workqueue, one work item per bio, so
 * many misses wait on the backing device at once and the submitter never
 * does.
 *
 * Locking: a bio holds at most one block lock, from get to put (cache.c).
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/slab.h>

#include "dcache_target.h"

static u64 bio_block(struct dcache_dev *dd, struct bio *bio)
{
	return dm_target_offset(dd->ti, bio->bi_iter.bi_sector) >> dd->block_shift;
}

/* Byte offset of the bio inside its block. */
static unsigned int bio_offset_in_block(struct dcache_dev *dd, struct bio *bio)
{
	sector_t s = dm_target_offset(dd->ti, bio->bi_iter.bi_sector);

	return (s & ((1U << dd->block_shift) - 1)) << SECTOR_SHIFT;
}

static bool bio_covers_block(struct dcache_dev *dd, struct bio *bio)
{
	return !bio_offset_in_block(dd, bio) && bio->bi_iter.bi_size == dd->block_size;
}

static void copy_bio_block(struct dcache_dev *dd, struct bio *bio,
			   struct dcache_block *b, bool to_block)
{
	char *data = dcache_block_data(b) + bio_offset_in_block(dd, bio);
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

static void read_hit(struct dcache_dev *dd, struct bio *bio, struct dcache_block *b)
{
	copy_bio_block(dd, bio, b, false);
	dcache_put(b, DCACHE_READ);
	bio_endio(bio);
}

static enum dcache_mode dev_mode(struct dcache_dev *dd)
{
	return READ_ONCE(dd->mode);
}

/*
 * A write-back write into a block held exclusive; the block is put and the
 * bio ended on success. Nothing is written on error (see dcache_dirty_now):
 * -EAGAIN and -ENOSPC ask the caller to wait (dcache_writer_wait) and
 * retry; any other error fails the bio.
 */
static int write_back_into(struct dcache_dev *dd, struct bio *bio,
			   struct dcache_block *b, enum dcache_get_mode mode)
{
	bool ordered = dev_mode(dd) == DCACHE_MODE_ORDERED;
	unsigned int max_age;
	int r;

	r = dcache_dirty_now(b, ordered);
	if (r) {
		/* A clean block got for a whole write may hold no data yet. */
		if (mode == DCACHE_WRITE && !dcache_block_dirty(b))
			dcache_invalidate(b);
		dcache_put(b, mode);
		return r;
	}
	copy_bio_block(dd, bio, b, true);
	dcache_put(b, mode);
	if (ordered) {
		/* FUA orders only: later writes go to a later epoch. */
		if (bio->bi_opf & REQ_FUA)
			dcache_close_epoch(dd->part->cache);
		max_age = READ_ONCE(dd->max_age_ms);
		if (max_age)
			dcache_writer_kick_within(dd->wr, max_age);
	}
	bio_endio(bio);
	return 0;
}

static bool must_wait(int r)
{
	return r == -EAGAIN || r == -ENOSPC;
}

/* Write a block the caller holds to the backing device and wait. */
static int write_block_sync(struct dcache_dev *dd, struct dcache_block *b,
			    blk_opf_t extra)
{
	struct dcache *c = dd->part->cache;
	void *data = dcache_block_data(b);
	struct bio_vec bv;
	struct bio bio;
	int r;

	/* An older copy still in flight must not land after this one. */
	wait_on_bit_io(&b->flags, DCACHE_B_WRITING, TASK_UNINTERRUPTIBLE);
	bio_init(&bio, dd->backing->bdev, &bv, 1, REQ_OP_WRITE | REQ_SYNC | extra);
	bio.bi_iter.bi_sector = b->addr << dd->block_shift;
	__bio_add_page(&bio, virt_to_page(data), dd->block_size, offset_in_page(data));
	if (!(extra & REQ_FUA))
		dcache_writer_owe_flush(dd->wr);
	r = submit_bio_wait(&bio);
	bio_uninit(&bio);
	atomic64_inc(&c->stats.writes);
	atomic64_add(dd->block_size, &c->stats.bytes_written);
	if (r)
		atomic64_inc(&c->stats.write_errors);
	return r;
}

static bool writes_through(struct dcache_dev *dd, struct bio *bio)
{
	enum dcache_mode mode = dev_mode(dd);

	return mode == DCACHE_MODE_WRITETHROUGH ||
	       (mode == DCACHE_MODE_WRITEBACK && (bio->bi_opf & REQ_FUA));
}

static void io_read(struct dcache_dev *dd, struct bio *bio)
{
	struct dcache_block *b;
	int r;

	r = dcache_get(dd->part, bio_block(dd, bio), DCACHE_READ, false, &b);
	if (r) {
		bio->bi_status = errno_to_blk_status(r);
		bio_endio(bio);
		return;
	}
	read_hit(dd, bio, b);
}

static void io_write(struct dcache_dev *dd, struct bio *bio)
{
	enum dcache_get_mode mode = bio_covers_block(dd, bio) ? DCACHE_WRITE : DCACHE_RDWR;
	u64 addr = bio_block(dd, bio);
	struct dcache_block *b;
	int r;

	for (;;) {
		r = dcache_get(dd->part, addr, mode, false, &b);
		if (r)
			goto out;
		if (writes_through(dd, bio)) {
			/*
			 * Dirt left from another mode may be of an ordered
			 * epoch: write it back in its stage, not through.
			 */
			if (dev_mode(dd) != DCACHE_MODE_WRITETHROUGH ||
			    !dcache_block_dirty(b))
				break;
			dcache_put(b, mode);
			r = dcache_writer_flush(dd->wr);
			if (r)
				goto out;
			continue;
		}
		r = write_back_into(dd, bio, b, mode);
		if (!r)
			return;
		if (!must_wait(r))
			goto out;
		r = dcache_writer_wait(dd->wr, addr, dev_mode(dd) == DCACHE_MODE_ORDERED);
		if (r)
			goto out;
	}
	copy_bio_block(dd, bio, b, true);
	/* The whole block goes, so older dirty data of it is written too. */
	r = write_block_sync(dd, b, bio->bi_opf & REQ_FUA);
	if (r && dcache_block_dirty(b))
		/* Older acknowledged data of the block still needs writing back. */
		dcache_dirty_now(b, false);
	else if (r)
		/* Neither copy is known good: the next read goes to the disk. */
		dcache_invalidate(b);
	else
		dcache_clean(b);
	dcache_put(b, mode);
out:
	bio->bi_status = errno_to_blk_status(r);
	bio_endio(bio);
}

/*
 * Forget the whole blocks of a discard. In ordered mode the discard is a
 * write of the open epoch and reaches the disk in that epoch's stage
 * (flush.c), after every older stage; otherwise it goes down at once.
 */
static void io_discard(struct dcache_dev *dd, struct bio *bio)
{
	sector_t start = dm_target_offset(dd->ti, bio->bi_iter.bi_sector);
	sector_t end = start + bio_sectors(bio);
	sector_t per_block = 1U << dd->block_shift;
	u64 first = DIV_ROUND_UP(start, per_block), last = end >> dd->block_shift;
	bool ordered = dev_mode(dd) == DCACHE_MODE_ORDERED;
	struct dcache *c = dd->part->cache;
	struct dcache_discard *queued = NULL;
	unsigned long since = jiffies;
	u64 epoch;
	int r = 0, gen;

	if (last <= first)
		goto done;	/* no whole block: nothing to forget or order */
	if (ordered) {
		/* Without memory the discard is dropped: it is only advice. */
		queued = kmalloc(sizeof(*queued), GFP_NOIO);
		if (!queued)
			goto done;
	}
	for (;;) {
		gen = atomic_read(&c->stage_gen);
		if (dcache_discard_range(dd->part, first, last - first, queued, &epoch) != -EAGAIN)
			break;
		if (!ordered) {
			/* A block in use: its holder lets go soon. */
			schedule_timeout_uninterruptible(1);
			continue;
		}
		r = dcache_writer_wait_progress(dd->wr, gen, since);
		if (r) {
			kfree(queued);
			goto done;
		}
	}
	if (!ordered && bdev_max_discard_sectors(dd->backing->bdev)) {
		dcache_writer_owe_flush(dd->wr);
		bio_set_dev(bio, dd->backing->bdev);
		bio->bi_iter.bi_sector = start;
		submit_bio_noacct(bio);
		return;
	}
done:
	bio->bi_status = errno_to_blk_status(r);
	bio_endio(bio);
}

static void io_work(struct work_struct *work)
{
	struct dcache_io *io = container_of(work, struct dcache_io, work);
	struct bio *bio = dm_bio_from_per_bio_data(io, sizeof(*io));
	struct dcache_dev *dd = io->dd;
	int r;

	switch (bio_op(bio)) {
	case REQ_OP_READ:
		io_read(dd, bio);
		break;
	case REQ_OP_WRITE:
		if (!bio_sectors(bio)) {
			/* An empty REQ_PREFLUSH. */
			r = dcache_writer_flush(dd->wr);
			bio->bi_status = errno_to_blk_status(r);
			bio_endio(bio);
		} else {
			io_write(dd, bio);
		}
		break;
	case REQ_OP_DISCARD:
		io_discard(dd, bio);
		break;
	default:
		bio->bi_status = BLK_STS_NOTSUPP;
		bio_endio(bio);
	}
}

static int defer(struct dcache_dev *dd, struct bio *bio)
{
	struct dcache_io *io = dm_per_bio_data(bio, sizeof(*io));

	io->dd = dd;
	INIT_WORK(&io->work, io_work);
	queue_work(dd->wq, &io->work);
	return DM_MAPIO_SUBMITTED;
}

int dcache_map_bio(struct dcache_dev *dd, struct bio *bio)
{
	struct dcache_block *b;
	enum dcache_get_mode mode;

	if (bio->bi_opf & REQ_PREFLUSH) {
		/* dm sends flushes empty: the data of a flush comes after it. */
		atomic64_inc(&dd->stats.flushes);
		switch (dev_mode(dd)) {
		case DCACHE_MODE_ORDERED:
			/* Order, not durability: close the epoch, done. */
			dcache_close_epoch(dd->part->cache);
			bio_endio(bio);
			return DM_MAPIO_SUBMITTED;
		case DCACHE_MODE_WRITETHROUGH:
			/* Unless dirt is left from another mode, all is on the disk. */
			if (!READ_ONCE(dd->part->nr_dirty)) {
				bio_set_dev(bio, dd->backing->bdev);
				return DM_MAPIO_REMAPPED;
			}
			fallthrough;
		default:
			return defer(dd, bio);
		}
	}

	switch (bio_op(bio)) {
	case REQ_OP_READ:
		atomic64_inc(&dd->stats.reads);
		b = dcache_try_get(dd->part, bio_block(dd, bio), DCACHE_READ);
		if (!b)
			return defer(dd, bio);
		atomic64_inc(&dd->stats.read_hits);
		read_hit(dd, bio, b);
		return DM_MAPIO_SUBMITTED;
	case REQ_OP_WRITE:
		atomic64_inc(&dd->stats.writes);
		if (writes_through(dd, bio))
			return defer(dd, bio);
		mode = bio_covers_block(dd, bio) ? DCACHE_WRITE : DCACHE_RDWR;
		b = dcache_try_get(dd->part, bio_block(dd, bio), mode);
		if (!b)
			return defer(dd, bio);
		atomic64_inc(&dd->stats.write_hits);
		if (write_back_into(dd, bio, b, mode))
			return defer(dd, bio);
		return DM_MAPIO_SUBMITTED;
	case REQ_OP_DISCARD:
		return defer(dd, bio);
	default:
		return DM_MAPIO_KILL;
	}
}
