/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A memory-backed part for KUnit: loads copy from a buffer, synchronously
 * or from a workqueue, and can be told to fail.
 */
#ifndef DCACHE_FAKE_DISK_H
#define DCACHE_FAKE_DISK_H

struct fake_disk;

#include <kunit/test.h>
#include <linux/workqueue.h>

#include "dcache_core.h"
#include "dcache_flush.h"

/* Told of every write, flush and discard as the disk takes it. */
struct fake_disk_hooks {
	void (*write)(void *ctx, struct fake_disk *d, u64 addr, const void *data);
	void (*flush)(void *ctx, struct fake_disk *d);
	void (*discard)(void *ctx, struct fake_disk *d, u64 addr, u64 nr);
};

/*
 * @data is what the disk returns (its volatile cache included); @durable
 * what survives a power cut: flushes copy @data to it.
 */
struct fake_disk {
	u8 *data;
	u8 *durable;
	u64 nr_blocks;
	unsigned int block_size;
	bool fail_reads;
	bool fail_writes;
	bool fail_flushes;
	bool hold_writes;	/* keep writes in flight until released */
	bool volatile_cache;	/* flushes do something (default) */
	bool fua;		/* does FUA writes (not by default) */
	bool async;		/* complete loads from a workqueue */
	bool hold;		/* async: keep loads pending until released */
	atomic_t reads;
	atomic_t writes;	/* blocks written */
	atomic_t fua_writes;	/* of them, blocks written with FUA */
	atomic_t flushes;	/* successful flushes */
	atomic_t held_writes;	/* writes now in flight */
	struct list_head pending;
	struct list_head pending_writes;
	spinlock_t lock;	/* pending, pending_writes, hold */
	struct workqueue_struct *wq;
	struct work_struct work;
	struct dcache_part *part;
	struct dcache_writer *writer;
	const struct fake_disk_hooks *hooks;
	void *hooks_ctx;
};

struct dcache *fake_cache_cfg(struct kunit *test, const struct dcache_config *cfg);
struct dcache *fake_cache(struct kunit *test, u64 nr_blocks,
			  unsigned int block_size, unsigned int hash_buckets);
struct fake_disk *fake_disk_add(struct kunit *test, struct dcache *c,
				u64 nr_blocks);
void fake_disk_release(struct fake_disk *d);
void fake_disk_end_writes(struct fake_disk *d, int error);
int fake_disk_fill_run(struct fake_disk *d, struct dcache_block **run, unsigned int n);
struct dcache_flusher *fake_flusher(struct kunit *test, struct dcache *c);
struct dcache_writer *fake_writer(struct kunit *test, struct dcache_flusher *fl,
				  struct fake_disk *d);
u8 fake_block_byte(u16 part, u64 addr);
void fake_mark_dirty_in(struct dcache_block *b, u64 epoch);

static inline u64 fake_nr_dirty(struct dcache *c)
{
	struct dcache_counts n;

	dcache_counts(c, &n);
	return n.blocks_dirty;
}

static inline u64 fake_nr_free(struct dcache *c)
{
	struct dcache_counts n;

	dcache_counts(c, &n);
	return n.blocks_free;
}

int kunit_defer(struct kunit *test, void (*fn)(void *arg), void *arg);

#endif
