/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Read admission (admit.c): the recent read misses of one device that went
 * around the cache, so that a block is taken in on its second miss rather
 * than its first. A lossy table of block addresses with no lock: KUnit
 * drives it directly.
 */
#ifndef DCACHE_ADMIT_H
#define DCACHE_ADMIT_H

#include <linux/rcupdate.h>
#include <linux/types.h>

/* The device's read_admit: a block is cached on its first or second miss. */
#define DCACHE_READ_ADMIT_FIRST		1
#define DCACHE_READ_ADMIT_SECOND	2
#define DCACHE_READ_ADMIT		DCACHE_READ_ADMIT_SECOND

struct dcache_admit_table {
	struct rcu_head rcu;
	u64 pool_blocks;	/* the pool's size it was made for */
	unsigned int bits;	/* log2 of the number of buckets */
	u64 slots[];		/* block address + 1, 0 when empty */
};

struct dcache_admit {
	struct dcache_admit_table __rcu *table;
	u64 dev_blocks;		/* the device's size, for the table's */
	unsigned int cursor;	/* which slot of a full bucket goes next; racy */
};

int dcache_admit_init(struct dcache_admit *a, u64 pool_blocks, u64 dev_blocks);
void dcache_admit_exit(struct dcache_admit *a);
bool dcache_admit_stale(struct dcache_admit *a, u64 pool_blocks);
int dcache_admit_resize(struct dcache_admit *a, u64 pool_blocks);
unsigned int dcache_admit_bits(struct dcache_admit *a);
bool dcache_admit_seen(struct dcache_admit *a, u64 addr);
void dcache_admit_note(struct dcache_admit *a, u64 addr, unsigned int n);

#endif
