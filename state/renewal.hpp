#pragma once
// When to renew worker credentials and how long before their expiry to stop a worker that
// could not get new ones. Pure functions of durations; the lifecycle applies them.
#include <chrono>

namespace sw::state {

/// The Go runner's renewBeforeExpire (reference 11.0): how long after `until_expiry` is
/// measured to make the first renewal attempt. 30 min ahead of expiry, but not sooner than 5
/// min from now, and at least 30 s before expiry (never negative): 90 min -> 60 min, 31 min ->
/// 5 min, 40 s -> 10 s, 30 s -> 0.
std::chrono::milliseconds renew_before_expire(std::chrono::milliseconds until_expiry);

/// How long before the expiry of the credentials a worker holds it is told to stop
/// (finish-tasks false, then killed killTimeout later or at expiry, whichever comes first)
/// when they were not renewed: killTimeout + 10 s, but never more than half the time that
/// is left at the first renewal attempt, so the first attempt (and some retries) always come
/// first. `lifetime` is measured from when the credentials were received. 96 h -> 40 s
/// (killTimeout 30 s), 40 s -> 15 s, 8 s -> 4 s, 31 min with killTimeout 1800 s -> 13 min.
std::chrono::milliseconds stop_margin(std::chrono::milliseconds lifetime,
                                      std::chrono::seconds kill_timeout);

/// Delay before retrying a renewal after `failures` consecutive retryable failures (>= 1):
/// 30 s doubling to at most 5 min. The lifecycle shortens it when little time is left.
std::chrono::seconds renewal_backoff(int failures);

}  // namespace sw::state
