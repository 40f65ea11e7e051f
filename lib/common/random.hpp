#pragma once
// Injected randomness (Envoy's Random::RandomGenerator): code that jitters delays takes a
// random_source, so tests pass a seeded one and get the same delays every run. Not for secrets:
// nonces and keys come from OpenSSL's CSPRNG.
#include <cstdint>
#include <limits>
#include <random>

namespace sw {

/// A UniformRandomBitGenerator behind an interface. Not thread-safe: one per thread.
class random_source {
  public:
    using result_type = std::uint64_t;
    virtual ~random_source() = default;
    virtual result_type next() = 0;

    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
    result_type operator()() { return next(); }
};

/// A Mersenne Twister with a fixed seed: the same sequence every run (tests).
class seeded_random final : public random_source {
  public:
    explicit seeded_random(std::uint64_t seed) : engine_(seed) {}
    result_type next() override { return engine_(); }

  private:
    std::mt19937_64 engine_;
};

/// The process-wide source for jitter: a Mersenne Twister seeded once from std::random_device.
/// For the event-loop thread only.
random_source& os_random();

}  // namespace sw
