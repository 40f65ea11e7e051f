#pragma once
// Runs providers in-process against the loopback metadata fakes.
#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"
#include "lib/http/client.hpp"
#include "lib/providers/provider.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/metadata_fake.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace sw::test {

/// An event loop, an HTTP client and a provider context, with helpers to run coroutines.
struct provider_env {
    boost::asio::io_context io;
    http::client http{io.get_executor()};
    manual_clock clk{wall_clock::now()};
    providers::context ctx{io.get_executor(), http, clk};
    config::runner_config cfg;

    template <class T>
    T run(boost::asio::awaitable<T> a) {
        auto fut = boost::asio::co_spawn(io, std::move(a), boost::asio::use_future);
        io.restart();
        io.run();
        return fut.get();
    }

    /// The sw::failure that `a` ends with (exit code ok, "no failure", when it succeeds).
    template <class T>
    failure failure_of(boost::asio::awaitable<T> a) {
        try {
            run(std::move(a));
        } catch (const failure& e) {
            return e;
        }
        return failure(std::error_code{}, "no failure");
    }
};

struct provider_fixture : provider_env {
    temp_dir dir;
    std::unique_ptr<metadata_fake> fake;
    std::unique_ptr<http_server> server;

    /// Serves `c`'s fake (or `handler`, when given) and points the context at it.
    explicit provider_fixture(cloud c, http_handler handler = nullptr) {
        fake = std::make_unique<metadata_fake>(c, dir.path());
        server = std::make_unique<http_server>(handler ? handler : fake->handler());
        ctx.aws_metadata_endpoint = server->base_url();
        ctx.gce_metadata_host = "127.0.0.1:" + std::to_string(server->port());
        ctx.azure_imds_endpoint = server->base_url();
        ctx.time_scale = 0.01;
        cfg.provider_type = c == cloud::aws ? "aws" : c == cloud::google ? "google" : "azure";
    }

    /// Runs `a` while `side` runs alongside (e.g. switching termination on after a while).
    template <class T>
    T run_with(boost::asio::awaitable<T> a, boost::asio::awaitable<void> side) {
        auto side_fut = boost::asio::co_spawn(io, std::move(side), boost::asio::use_future);
        auto fut = boost::asio::co_spawn(io, std::move(a), boost::asio::use_future);
        io.restart();
        io.run();
        side_fut.get();
        return fut.get();
    }

    void write_metadata(const std::string& json) { dir.write("metadata.json", json); }
    void terminate(const std::string& json = "{}") { dir.write("terminate.json", json); }

    std::vector<boost::json::object> requests() const {
        std::vector<boost::json::object> out;
        std::ifstream in(dir.file("requests.jsonl"));
        for (std::string line; std::getline(in, line);)
            out.push_back(boost::json::parse(line).as_object());
        return out;
    }
    std::size_t count_requests(std::string_view target_part) const {
        std::size_t n = 0;
        for (const auto& r : requests())
            if (std::string_view(r.at("target").as_string()).find(target_part) !=
                std::string_view::npos)
                ++n;
        return n;
    }
};

}  // namespace sw::test
