// aws (reference 4.4): identity from EC2 user-data and the signed instance identity document,
// spot notices from the metadata service. Unlike the Go runner, a missing public hostname or
// public IPv4 (404) only leaves the key out.
#include "lib/config/runner_config.hpp"
#include "lib/log/log.hpp"
#include "lib/providers/aws_imds.hpp"
#include "lib/providers/builtin.hpp"
#include "lib/providers/parse.hpp"

namespace sw::providers {

namespace {

/// Runs `fetch`, prefixing failures with `prefix` (the Go runner's error texts).
template <class F>
auto with_prefix(std::string prefix, F fetch) -> decltype(fetch()) {
    try {
        co_return co_await fetch();
    } catch (const failure& e) {
        throw failure(e.code(), prefix + e.what());
    } catch (const std::invalid_argument& e) {
        throw failure(errc::config, prefix + e.what());
    }
}

class aws_provider final : public provider {
  public:
    explicit aws_provider(context& ctx) : imds_(ctx, false), ctx_(ctx) {}

    std::string_view type() const override { return "aws"; }

    boost::asio::awaitable<void> configure(run_state& state) override {
        const auto ud = co_await with_prefix(
            "could not query user data: ", [&]() -> boost::asio::awaitable<parse::cloud_user_data> {
                auto parsed = parse::cloud_user_data_from_json(co_await imds_.get("/user-data"));
                if (auto missing = parse::first_missing_field(parsed); !missing.empty())
                    throw std::invalid_argument("missing " + std::string(missing));
                co_return parsed;
            });
        const auto doc = co_await with_prefix(
            "could not query instance identity document: ",
            [&]() -> boost::asio::awaitable<parse::aws_identity_document> {
                document_ = co_await imds_.get("/dynamic/instance-identity/document");
                co_return parse::aws_identity_document_from_json(document_);
            });
        co_await fetch_signature();
        const auto hostname = co_await imds_.get_optional("/meta-data/public-hostname");
        const auto ipv4 = co_await imds_.get_optional("/meta-data/public-ipv4");

        state.root_url = ud.root_url;
        state.provider_id = ud.provider_id;
        state.worker_pool_id = ud.worker_pool_id;
        state.worker_group = ud.worker_group;
        state.worker_id = doc.instance_id;
        state.worker_location = {
            {"cloud", "aws"}, {"region", doc.region}, {"availabilityZone", doc.availability_zone}};
        boost::json::object md{{"instance-id", doc.instance_id},
                               {"image", doc.image_id},
                               {"instance-type", doc.instance_type},
                               {"region", doc.region},
                               {"availability-zone", doc.availability_zone},
                               {"local-ipv4", doc.private_ip}};
        if (hostname) md["public-hostname"] = *hostname;
        if (ipv4) md["public-ipv4"] = *ipv4;
        state.provider_metadata = std::move(md);
    }

    boost::asio::awaitable<std::optional<boost::json::object>> identity_proof(
        const run_state&) override {
        if (document_.empty()) {
            document_ = co_await with_prefix("could not query instance identity document: ", [&] {
                return imds_.get("/dynamic/instance-identity/document");
            });
        }
        if (signature_.empty()) co_await fetch_signature();
        co_return boost::json::object{{"document", document_}, {"signature", signature_}};
    }

    bool dynamic() const override { return true; }

    boost::asio::awaitable<std::optional<termination_notice>> check_termination_now() override {
        co_return co_await aws_spot_notice(imds_, true);
    }

    boost::asio::awaitable<termination_notice> watch_termination() override {
        co_return co_await aws_watch_spot(ctx_, imds_);
    }

  private:
    boost::asio::awaitable<void> fetch_signature() {
        signature_ =
            co_await with_prefix("could not query signature for the instance identity document: ",
                                 [&] { return imds_.get("/dynamic/instance-identity/signature"); });
    }

    aws_imds imds_;
    const context& ctx_;
    std::string document_;
    std::string signature_;
};

}  // namespace

std::unique_ptr<provider> make_aws(const config::runner_config&, context& ctx) {
    return std::make_unique<aws_provider>(ctx);
}

}  // namespace sw::providers
