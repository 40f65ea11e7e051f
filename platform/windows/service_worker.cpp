// generic-worker in Windows service mode: the runner starts the worker's service and serves the
// protocol on two named pipes (Go: worker/genericworker/runmethod_windows.go).
#include "platform/windows/service_worker.hpp"

#include "lib/log/log.hpp"
#include "platform/windows/security.hpp"
#include "platform/windows/service.hpp"
#include "platform/windows/win.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/windows/overlapped_ptr.hpp>
#include <boost/asio/windows/stream_handle.hpp>
#include <boost/asio/write.hpp>

#include <optional>

namespace sw::platform::win {
namespace {

namespace asio = boost::asio;

constexpr DWORD pipe_buffer = 64 * 1024;

/// One listening pipe instance that accepts exactly one connection.
class pipe_listener {
  public:
    pipe_listener(asio::any_io_executor ex, const std::string& name, bool inbound,
                  PSECURITY_DESCRIPTOR sd)
        : name_(name), stream_(ex) {
        SECURITY_ATTRIBUTES sa{sizeof sa, sd, FALSE};
        HANDLE h = ::CreateNamedPipeW(
            widen(name).c_str(),
            (inbound ? PIPE_ACCESS_INBOUND : PIPE_ACCESS_OUTBOUND) | FILE_FLAG_OVERLAPPED |
                FILE_FLAG_FIRST_PIPE_INSTANCE,
            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1,
            pipe_buffer, pipe_buffer, 0, &sa);
        if (h == INVALID_HANDLE_VALUE) throw_win32("creating pipe " + name);
        stream_.assign(h);
    }

    /// Waits (once) for the worker to connect; false if the pipe was closed first.
    asio::awaitable<bool> connected(const char* which) {
        if (connected_) co_return *connected_;
        boost::system::error_code ec;
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        co_await asio::async_initiate<decltype(token),
                                      void(boost::system::error_code, std::size_t)>(
            [this](auto handler) {
                asio::windows::overlapped_ptr op(stream_.get_executor(), std::move(handler));
                const BOOL ok = ::ConnectNamedPipe(stream_.native_handle(), op.get());
                const DWORD err = ::GetLastError();
                if (!ok && err == ERROR_IO_PENDING) {
                    op.release();
                } else if (ok || err == ERROR_PIPE_CONNECTED) {
                    op.complete(boost::system::error_code(), 0);
                } else {
                    op.complete(boost::system::error_code(static_cast<int>(err),
                                                          boost::system::system_category()),
                                0);
                }
            },
            token);
        connected_ = !ec;
        if (!ec)
            log::info("Worker connected on {} protocolPipe", which);
        else
            log::error("Waiting for the worker on {}: {}", name_, ec.message());
        co_return *connected_;
    }

    asio::windows::stream_handle& stream() { return stream_; }

  private:
    std::string name_;
    asio::windows::stream_handle stream_;
    std::optional<bool> connected_;
};

class service_child final : public child_process {
  public:
    service_child(asio::any_io_executor ex, const spawn_options& opts)
        : ex_(ex),
          service_(opts.windows_service),
          sd_(security_descriptor_from_sddl(pipe_sddl(current_user_sid()), "the protocol pipes")),
          input_(ex, opts.protocol_pipe + "-input", true, sd_.get()),
          output_(ex, opts.protocol_pipe + "-output", false, sd_.get()) {
        start_service(service_);
        refresh();
    }

    int pid() const override { return static_cast<int>(process_id()); }

    asio::awaitable<std::size_t> read_some(char* buf, std::size_t n) override {
        if (n == 0 || input_closed_ || !co_await input_.connected("input")) co_return 0;
        boost::system::error_code ec;
        const std::size_t got = co_await input_.stream().async_read_some(
            asio::buffer(buf, n), asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::eof || ec.value() == ERROR_BROKEN_PIPE ||
            ec.value() == ERROR_PIPE_NOT_CONNECTED || ec == asio::error::operation_aborted) {
            input_closed_ = true;
            co_return 0;
        }
        if (ec) throw boost::system::system_error(ec, "reading from the worker's protocol pipe");
        co_return got;
    }

    asio::awaitable<bool> write_all(std::string data) override {
        if (output_closed_ || !co_await output_.connected("output")) co_return false;
        boost::system::error_code ec;
        co_await asio::async_write(output_.stream(), asio::buffer(data),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            output_closed_ = true;
            co_return false;
        }
        co_return true;
    }

    void close_stdin() override {
        output_closed_ = true;
        boost::system::error_code ec;
        output_.stream().close(ec);
    }

    asio::awaitable<int> wait() override {
        asio::steady_timer t(ex_);
        while (!refresh()) {
            t.expires_after(std::chrono::seconds(2));
            co_await t.async_wait(asio::use_awaitable);
        }
        // The worker is gone: unblock a reader or writer still waiting for a connection.
        boost::system::error_code ec;
        input_.stream().cancel(ec);
        output_.stream().cancel(ec);
        co_return *exit_code_;
    }

    bool exited() const override { return exit_code_.has_value(); }

    void terminate() override {
        if (exited()) return;
        if (auto ec = stop_service(service_))
            log::warn("Could not stop service {}: {}", service_, ec.message());
    }

    void kill() override {
        if (exited()) return;
        terminate();
        if (const DWORD pid = process_id()) {
            handle p(::OpenProcess(PROCESS_TERMINATE, FALSE, pid));
            if (p) ::TerminateProcess(p.get(), 1);
        }
    }

  private:
    /// Queries the service; true (and exit_code_ set) once it is neither starting nor running.
    bool refresh() {
        if (exit_code_) return true;
        service_state st;
        try {
            st = query_service(service_);
        } catch (const std::system_error& e) {
            log::error("{}", e.what());
            exit_code_ = 1;
            return true;
        }
        if (st.current_state == SERVICE_START_PENDING || st.current_state == SERVICE_RUNNING)
            return false;
        if (st.win32_exit_code == ERROR_SERVICE_SPECIFIC_ERROR &&
            st.service_specific_exit_code == 67) {
            log::info("{} requested immediate reboot", service_);
            exit_code_ = 67;
        } else {
            exit_code_ = 0;
        }
        return true;
    }

    DWORD process_id() const {
        SC_HANDLE m = ::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT);
        if (!m) return 0;
        SC_HANDLE s = ::OpenServiceW(m, widen(service_).c_str(), SERVICE_QUERY_STATUS);
        DWORD pid = 0;
        if (s) {
            SERVICE_STATUS_PROCESS ssp{};
            DWORD needed = 0;
            if (::QueryServiceStatusEx(s, SC_STATUS_PROCESS_INFO, reinterpret_cast<BYTE*>(&ssp),
                                       sizeof ssp, &needed))
                pid = ssp.dwProcessId;
            ::CloseServiceHandle(s);
        }
        ::CloseServiceHandle(m);
        return pid;
    }

    asio::any_io_executor ex_;
    std::string service_;
    std::unique_ptr<void, void (*)(void*)> sd_;
    pipe_listener input_;
    pipe_listener output_;
    bool input_closed_ = false;
    bool output_closed_ = false;
    std::optional<int> exit_code_;
};

}  // namespace

std::unique_ptr<child_process> spawn_service_worker(asio::any_io_executor ex,
                                                    const spawn_options& opts) {
    return std::make_unique<service_child>(ex, opts);
}

}  // namespace sw::platform::win
