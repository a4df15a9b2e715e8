/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A memory-backed part for KUnit: loads copy from a buffer, synchronously
 * or from a workqueue, and can be told to fail.
 */
#ifndef DCACHE_FAKE_DISK_H
#define DCACHE_FAKE_DISK_H

#include <kunit/test.h>
#include <linux/workqueue.h>

#include "dcache.h"

struct fake_disk {
	u8 *data;
	u64 nr_blocks;
	unsigned int block_size;
	bool fail_reads;
	bool async;		/* complete loads from a workqueue */
	bool hold;		/* async: keep loads pending until released */
	atomic_t reads;
	struct list_head pending;
	spinlock_t lock;	/* pending, hold */
	struct workqueue_struct *wq;
	struct work_struct work;
	struct dcache_part *part;
};

struct dcache *fake_cache_cfg(struct kunit *test, const struct dcache_config *cfg);
struct dcache *fake_cache(struct kunit *test, u64 nr_blocks,
			  unsigned int block_size, unsigned int hash_buckets);
struct fake_disk *fake_disk_add(struct kunit *test, struct dcache *c,
				u64 nr_blocks);
void fake_disk_release(struct fake_disk *d);
u8 fake_block_byte(u16 part, u64 addr);
int kunit_defer(struct kunit *test, void (*fn)(void *arg), void *arg);

#endif
