// aws-provisioner (reference section 13, the historical provider): identity and worker config
// from EC2 user-data, credentials from a one-time provisioner secret that is read and then
// always deleted. No registerWorker; spot notices as for aws.
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports a false -Wmismatched-new-delete for Asio's coroutine frames (GCC bug 109224).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
#include "lib/config/runner_config.hpp"
#include "lib/json/worker_config.hpp"
#include "lib/log/log.hpp"
#include "lib/providers/aws_imds.hpp"
#include "lib/providers/builtin.hpp"
#include "lib/providers/parse.hpp"

#include <boost/json/serialize.hpp>

namespace sw::providers {

namespace {

constexpr auto credentials_lifetime = std::chrono::hours(96);

std::string redacted(std::string text, const std::string& secret) {
    if (secret.empty()) return text;
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 10))
        text.replace(pos, secret.size(), "<redacted>");
    return text;
}

class aws_provisioner_provider final : public provider {
  public:
    aws_provisioner_provider(const config::runner_config& cfg, context& ctx)
        : ctx_(ctx), imds_(ctx, true), worker_implementation_(cfg.worker_implementation) {}

    std::string_view type() const override { return "aws-provisioner"; }

    boost::asio::awaitable<void> configure(run_state& state) override {
        parse::aws_provisioner_user_data ud;
        try {
            ud = parse::aws_provisioner_user_data_from_json(co_await imds_.get("/user-data"));
        } catch (const failure& e) {
            throw failure(e.code(), std::string("could not query user data: ") + e.what());
        } catch (const std::invalid_argument& e) {
            throw failure(errc::config, std::string("could not query user data: ") + e.what());
        }
        log::add_secret(ud.security_token);
        const auto secret = co_await take_secret(ud);
        log::add_secret(secret.creds.access_token);

        instance_facts facts;
        facts.availability_zone = co_await imds_.get("/meta-data/placement/availability-zone");
        facts.instance_id = co_await imds_.get("/meta-data/instance-id");
        facts.image = co_await imds_.get("/meta-data/ami-id");
        facts.instance_type = co_await imds_.get("/meta-data/instance-type");
        facts.local_ipv4 = co_await imds_.get("/meta-data/local-ipv4");
        facts.public_hostname = co_await imds_.get_optional("/meta-data/public-hostname");
        facts.public_ipv4 = co_await imds_.get_optional("/meta-data/public-ipv4");
        fill_state(ud, secret, facts, state);
    }

    boost::asio::awaitable<std::optional<boost::json::object>> identity_proof(
        const run_state&) override {
        co_return std::nullopt;
    }

    bool dynamic() const override { return true; }
    bool registers() const override { return false; }
    /// The provisioner secret is one-time: there is nothing to prove the identity again with.
    bool can_reregister_from_scratch() const override { return false; }

    boost::asio::awaitable<std::optional<termination_notice>> check_termination_now() override {
        co_return co_await aws_spot_notice(imds_, true);
    }

    boost::asio::awaitable<termination_notice> watch_termination() override {
        co_return co_await aws_watch_spot(ctx_, imds_);
    }

  private:
    struct instance_facts {
        std::string availability_zone, instance_id, image, instance_type, local_ipv4;
        std::optional<std::string> public_hostname, public_ipv4;
    };

    void fill_state(const parse::aws_provisioner_user_data& ud,
                    const parse::aws_provisioner_secret& secret, const instance_facts& f,
                    run_state& state) const {
        const auto region = parse::aws_region_from_zone(f.availability_zone);
        boost::json::object md{{"instance-id", f.instance_id},
                               {"image", f.image},
                               {"instance-type", f.instance_type},
                               {"region", region},
                               {"availability-zone", f.availability_zone},
                               {"local-ipv4", f.local_ipv4}};
        if (f.public_hostname) md["public-hostname"] = *f.public_hostname;
        if (f.public_ipv4) md["public-ipv4"] = *f.public_ipv4;

        state.root_url = ud.taskcluster_root_url;
        state.provider_id = "aws-provisioner";
        state.worker_pool_id = ud.provisioner_id + "/" + ud.worker_type;
        state.worker_group = ud.region;
        state.worker_id = f.instance_id;
        state.creds = secret.creds;
        state.credentials_expire = ctx_.clk.now() + credentials_lifetime;
        state.worker_location = {
            {"cloud", "aws"}, {"region", region}, {"availabilityZone", f.availability_zone}};
        state.provider_metadata = std::move(md);
        state.worker_config = json::merge(
            state.worker_config,
            parse::aws_provisioner_worker_config(ud, secret.data, worker_implementation_));
    }

    /// GET the secret, then DELETE it whatever the GET gave; either failing is fatal. The
    /// token is the credential, so it never appears in a message.
    boost::asio::awaitable<parse::aws_provisioner_secret> take_secret(
        const parse::aws_provisioner_user_data& ud) {
        const std::string url = normalize_root_url(ud.taskcluster_root_url) +
                                "/api/aws-provisioner/v1/secret/" + ud.security_token;
        retry_settings rs;
        rs.attempt_timeout = std::chrono::milliseconds(30'000);
        rs.budget = std::chrono::milliseconds(15 * 60'000);
        rs.use_proxy = true;

        std::optional<parse::aws_provisioner_secret> secret;
        std::exception_ptr get_error;
        try {
            http::request req;
            req.url = url;
            req.headers.emplace_back("Accept", "application/json");
            const auto resp = co_await send_with_retries(ctx_, req, rs);
            if (resp.status == 401 || resp.status == 403)
                throw failure(errc::refused,
                              "GET " + url + ": HTTP status " + std::to_string(resp.status));
            secret = parse::aws_provisioner_secret_from_json(body_or_throw(resp, "GET", url));
        } catch (const failure& e) {
            get_error = std::make_exception_ptr(
                failure(e.code(), "could not get the aws-provisioner secret: " +
                                      redacted(e.what(), ud.security_token)));
        } catch (const std::invalid_argument& e) {
            get_error = std::make_exception_ptr(
                failure(errc::unavailable,
                        std::string("could not get the aws-provisioner secret: ") + e.what()));
        }
        try {
            http::request req;
            req.method = "DELETE";
            req.url = url;
            const auto resp = co_await send_with_retries(ctx_, req, rs);
            body_or_throw(resp, "DELETE", url);
        } catch (const failure& e) {
            if (!get_error)
                throw failure(e.code(), "could not remove the aws-provisioner secret: " +
                                            redacted(e.what(), ud.security_token));
            log::error("could not remove the aws-provisioner secret either: {}",
                       redacted(e.what(), ud.security_token));
        }
        if (get_error) std::rethrow_exception(get_error);
        co_return std::move(*secret);
    }

    const context& ctx_;
    aws_imds imds_;
    std::string worker_implementation_;
};

}  // namespace

std::unique_ptr<provider> make_aws_provisioner(const config::runner_config& cfg, context& ctx) {
    return std::make_unique<aws_provisioner_provider>(cfg, ctx);
}

}  // namespace sw::providers
