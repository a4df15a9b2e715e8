// SPDX-License-Identifier: GPL-2.0
/*
 * When rounds run (see include/dcache_kick.h). A kick is consumed by the
 * round it starts (a sticky flag would keep an idle cache scanning for
 * ever), kicks during a round make exactly one more, and an idle cache
 * sleeps.
 *
 * Locking: dcache_kick.lock, irq-safe, the innermost of ours: taken under
 * the cache mutex by the kick callbacks and never held while sleeping;
 * flush.c holds it across mod_delayed_work(), which takes only the
 * workqueue's and timers' own locks.
 */
#include <linux/jiffies.h>
#include <linux/export.h>
#include <linux/module.h>

#include "dcache_kick.h"
#include "dcache_export.h"

void dcache_kick_init(struct dcache_kick *k)
{
	spin_lock_init(&k->lock);
	k->kicked = false;
	k->deadline = 0;
	k->started = 0;
	k->done = 0;
	init_waitqueue_head(&k->round_done);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_kick_init);

/* A round is due now; during a round, one more after it. */
void dcache_kick_now(struct dcache_kick *k)
{
	unsigned long flags;

	spin_lock_irqsave(&k->lock, flags);
	k->kicked = true;
	spin_unlock_irqrestore(&k->lock, flags);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_kick_now);

/*
 * A round is due at @deadline (jiffies), unless one is due sooner. Returns
 * whether the deadline moved earlier (the caller re-arms its timer).
 */
bool dcache_kick_at(struct dcache_kick *k, unsigned long deadline)
{
	unsigned long flags;
	bool earlier = false;

	deadline = deadline ?: 1;	/* 0 means none */
	spin_lock_irqsave(&k->lock, flags);
	if (!k->deadline || time_before(deadline, k->deadline)) {
		k->deadline = deadline;
		earlier = true;
	}
	spin_unlock_irqrestore(&k->lock, flags);
	return earlier;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_kick_at);

bool dcache_kick_due(struct dcache_kick *k, unsigned long now)
{
	unsigned long flags;
	bool due;

	spin_lock_irqsave(&k->lock, flags);
	due = k->kicked || (k->deadline && time_after_eq(now, k->deadline));
	spin_unlock_irqrestore(&k->lock, flags);
	return due;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_kick_due);

unsigned long dcache_kick_deadline(struct dcache_kick *k)
{
	unsigned long flags, deadline;

	spin_lock_irqsave(&k->lock, flags);
	deadline = k->deadline;
	spin_unlock_irqrestore(&k->lock, flags);
	return deadline;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_kick_deadline);

/* The flusher starts a round: it consumes every kick so far. */
u64 dcache_kick_begin_round(struct dcache_kick *k)
{
	unsigned long flags;
	u64 round;

	spin_lock_irqsave(&k->lock, flags);
	k->kicked = false;
	k->deadline = 0;
	round = ++k->started;
	spin_unlock_irqrestore(&k->lock, flags);
	return round;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_kick_begin_round);

void dcache_kick_end_round(struct dcache_kick *k, u64 round)
{
	unsigned long flags;

	spin_lock_irqsave(&k->lock, flags);
	/* A flusher's own round may end before an older one of the worker. */
	if (round > k->done)
		k->done = round;
	spin_unlock_irqrestore(&k->lock, flags);
	wake_up_all(&k->round_done);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_kick_end_round);

/*
 * Ask for a round that starts after this call; returns its number, for
 * dcache_kick_wait(). A round under way does not count: it may have
 * passed the caller's data already.
 */
u64 dcache_kick_request_round(struct dcache_kick *k)
{
	unsigned long flags;
	u64 round;

	spin_lock_irqsave(&k->lock, flags);
	round = k->started + 1;
	k->kicked = true;
	spin_unlock_irqrestore(&k->lock, flags);
	return round;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_kick_request_round);

bool dcache_kick_round_done(struct dcache_kick *k, u64 round)
{
	unsigned long flags;
	bool done;

	spin_lock_irqsave(&k->lock, flags);
	done = k->done >= round;
	spin_unlock_irqrestore(&k->lock, flags);
	return done;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_kick_round_done);

void dcache_kick_wait(struct dcache_kick *k, u64 round)
{
	wait_event(k->round_done, dcache_kick_round_done(k, round));
}
EXPORT_SYMBOL_IF_KUNIT(dcache_kick_wait);

/* The same for a user who may give up waiting: 0 or -ERESTARTSYS. */
int dcache_kick_wait_killable(struct dcache_kick *k, u64 round)
{
	return wait_event_killable(k->round_done, dcache_kick_round_done(k, round));
}
