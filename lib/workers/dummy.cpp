// dummy (reference section 5.2): no process and no protocol. The run ends as soon as it
// starts; the daemon logs the state as the Go runner does.
#include "lib/workers/detail.hpp"

namespace sw::workers::detail {

namespace {

class dummy final : public worker_impl {
  public:
    std::string_view name() const override { return "dummy"; }
    bool has_process() const override { return false; }
    void configure_run(run_state&) const override {}
    void set_credentials(run_state&) const override {}
    start_plan plan_start(const run_state&) const override {
        start_plan p;
        p.protocol = false;
        return p;
    }
};

}  // namespace

std::unique_ptr<worker_impl> make_dummy(const boost::json::object&) {
    return std::make_unique<dummy>();
}

}  // namespace sw::workers::detail
