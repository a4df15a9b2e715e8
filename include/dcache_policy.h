/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The eviction policy: which clean, unpinned block the cache reuses when
 * its free list is empty. The core (cache.c, part.c, pool.c, check.c)
 * reaches a policy only through the dcache_policy_*() calls below and
 * never reads an entry's fields; a policy never does I/O and never
 * allocates outside init and grow.
 *
 * A block's entry is a "candidate" while the block may be evicted (hashed,
 * no pins, clean, not loading). The calls, all under the cache mutex:
 *
 *   first_access  the block was just taken for new data (not a candidate);
 *   hit           a use of a cached block (a candidate or not);
 *   evictable     it becomes a candidate;
 *   pin           it stops being one because it is pinned; a no-op if it
 *                 is not one. A policy may keep the entry where it is,
 *                 as long as it never offers it as a victim, so that a
 *                 hit costs no reordering;
 *   forget        it stops being one and leaves the policy (the block
 *                 leaves the cache); a no-op if the policy holds nothing
 *                 of it;
 *   victim        remove and return the best candidate, NULL if none;
 *   victim_used_once  whether the next victim is a block used once at
 *                 most (readahead may take it); false if the policy
 *                 cannot tell;
 *   grow          make room for @capacity candidates: allocates, so it
 *                 is called without the mutex and takes it to publish;
 *   check         the policy's own invariants hold.
 *
 * Two policies: LRU-2 (heap.c, the default), whose victim is the block
 * with the oldest second-to-last use, so that a scan of blocks used once
 * does not evict blocks used twice; and plain LRU (lru.c), the least
 * recently released block, as a baseline. The module parameter "policy"
 * picks one at load.
 */
#ifndef DCACHE_POLICY_H
#define DCACHE_POLICY_H

#include <linux/list.h>
#include <linux/mutex.h>

#include "dcache_heap.h"

/* A block's policy state, embedded in the block. */
struct dcache_policy_entry {
	union {
		struct dcache_lru lru2;		/* heap.c */
		struct list_head lru;		/* lru.c: on the list if a candidate */
	};
};

struct dcache_policy;

struct dcache_policy_ops {
	const char *name;
	int (*init)(struct dcache_policy *p, u32 capacity);
	void (*exit)(struct dcache_policy *p);
	int (*grow)(struct dcache_policy *p, u32 capacity, struct mutex *lock);
	void (*init_entry)(struct dcache_policy_entry *e);
	void (*first_access)(struct dcache_policy *p, struct dcache_policy_entry *e);
	void (*hit)(struct dcache_policy *p, struct dcache_policy_entry *e);
	void (*evictable)(struct dcache_policy *p, struct dcache_policy_entry *e);
	void (*pin)(struct dcache_policy *p, struct dcache_policy_entry *e);
	void (*forget)(struct dcache_policy *p, struct dcache_policy_entry *e);
	struct dcache_policy_entry *(*victim)(struct dcache_policy *p);
	bool (*victim_used_once)(struct dcache_policy *p);
	bool (*is_candidate)(const struct dcache_policy *p,
			     const struct dcache_policy_entry *e);
	u32 (*nr_candidates)(const struct dcache_policy *p);
	bool (*check)(const struct dcache_policy *p);
};

struct dcache_policy {
	const struct dcache_policy_ops *ops;
	u64 tick;			/* a clock of uses; never wraps */
	union {
		struct {			/* heap.c */
			struct dcache_heap heap;
			u32 nr_parked;	/* pinned entries left in it */
		};
		struct {			/* lru.c */
			struct list_head list;	/* least recently released first */
			u32 nr;
		} lru;
	};
};

extern const struct dcache_policy_ops dcache_policy_lru2;
extern const struct dcache_policy_ops dcache_policy_lru;

const struct dcache_policy_ops *dcache_policy_find(const char *name);

/* @ops NULL: LRU-2. @first_tick 0: 1 (tests start near 2^32). */
int dcache_policy_init(struct dcache_policy *p, const struct dcache_policy_ops *ops,
		       u32 capacity, u64 first_tick);

static inline void dcache_policy_exit(struct dcache_policy *p)
{
	p->ops->exit(p);
}

static inline int dcache_policy_grow(struct dcache_policy *p, u32 capacity,
				     struct mutex *lock)
{
	return p->ops->grow(p, capacity, lock);
}

static inline void dcache_policy_init_entry(struct dcache_policy *p,
					    struct dcache_policy_entry *e)
{
	p->ops->init_entry(e);
}

static inline void dcache_policy_first_access(struct dcache_policy *p,
					      struct dcache_policy_entry *e)
{
	p->ops->first_access(p, e);
}

static inline void dcache_policy_hit(struct dcache_policy *p,
				     struct dcache_policy_entry *e)
{
	p->ops->hit(p, e);
}

static inline void dcache_policy_evictable(struct dcache_policy *p,
					   struct dcache_policy_entry *e)
{
	p->ops->evictable(p, e);
}

static inline void dcache_policy_pin(struct dcache_policy *p,
				     struct dcache_policy_entry *e)
{
	p->ops->pin(p, e);
}

/*
 * Two pairs of the calls in one, for every block of a cached read and its
 * release; in heap.c, which calls LRU-2's directly, not through an
 * indirect call (a retpoline) each: pin_use is pin, then first_access if
 * @first (a block read ahead, used for the first time) or else hit; offer
 * is evictable unless is_candidate, and says whether it was not.
 */
void dcache_policy_pin_use(struct dcache_policy *p, struct dcache_policy_entry *e,
			   bool first);
bool dcache_policy_offer(struct dcache_policy *p, struct dcache_policy_entry *e);

static inline void dcache_policy_forget(struct dcache_policy *p,
					struct dcache_policy_entry *e)
{
	p->ops->forget(p, e);
}

static inline bool dcache_policy_victim_used_once(struct dcache_policy *p)
{
	return p->ops->victim_used_once(p);
}

static inline struct dcache_policy_entry *dcache_policy_victim(struct dcache_policy *p)
{
	return p->ops->victim(p);
}

static inline bool dcache_policy_is_candidate(const struct dcache_policy *p,
					      const struct dcache_policy_entry *e)
{
	return p->ops->is_candidate(p, e);
}

static inline u32 dcache_policy_nr_candidates(const struct dcache_policy *p)
{
	return p->ops->nr_candidates(p);
}

static inline bool dcache_policy_check(const struct dcache_policy *p)
{
	return p->ops->check(p);
}

#endif
