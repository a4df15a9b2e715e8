/* SPDX-License-Identifier: GPL-2.0 */
/*
 * When the flusher runs a round (kick.c): kicks coalesce, a delayed kick
 * keeps the earliest deadline, and a synchronous caller waits for a round
 * that starts after its request. Pure state with its own lock, so that
 * KUnit drives it with made-up times.
 */
#ifndef DCACHE_KICK_H
#define DCACHE_KICK_H

#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/types.h>

struct dcache_kick {
	spinlock_t lock;		/* everything below but the queue */
	bool kicked;			/* a round is due now */
	unsigned long deadline;		/* a round is due then; 0: none */
	u64 started;			/* rounds begun */
	u64 done;			/* rounds ended */
	wait_queue_head_t round_done;	/* synchronous callers wait here */
};

void dcache_kick_init(struct dcache_kick *k);
void dcache_kick_now(struct dcache_kick *k);
bool dcache_kick_at(struct dcache_kick *k, unsigned long deadline);
bool dcache_kick_due(struct dcache_kick *k, unsigned long now);
unsigned long dcache_kick_deadline(struct dcache_kick *k);
u64 dcache_kick_begin_round(struct dcache_kick *k);
void dcache_kick_end_round(struct dcache_kick *k, u64 round);
u64 dcache_kick_request_round(struct dcache_kick *k);
void dcache_kick_wait(struct dcache_kick *k, u64 round);
int dcache_kick_wait_killable(struct dcache_kick *k, u64 round);
bool dcache_kick_round_done(struct dcache_kick *k, u64 round);

#endif
