// fake-worker-win: a Windows stand-in for generic-worker, for the Wine tests
// (tests/windows/run-wine-tests). It speaks the worker-runner protocol and records what it
// receives, one line per message, in a record file.
//
//   fake-worker-win run --config <path> --with-worker-runner
//       command mode, protocol on stdin/stdout; the record file is the worker config's
//       "fakeRecord" key (the config is JSON, as the runner writes it), exit code "fakeExit"
//       (default 0) once graceful-termination arrives or stdin ends, or right after hello when
//       "fakeExitAfterHello" is true.
//   fake-worker-win --wait-scm
//       waits until the SCM's database is unlocked (after boot), for the test script.
//   fake-worker-win --service <name> --pipe <base> --record <file> [--exit N]
//       service mode: runs as the SCM service <name>, opens <base>-input for writing and
//       <base>-output for reading (as generic-worker's --worker-runner-protocol-pipe does), and
//       stops with service-specific exit code N (default 0) after graceful-termination, or at
//       once after hello when N is 67 (a reboot request).
//
// Record lines: "start <mode>", "received <type>", "sent hello", "exit <code>".
#include <boost/json.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <windows.h>

namespace {

std::string g_record;
std::string g_service, g_pipe;
int g_exit = 0;
SERVICE_STATUS_HANDLE g_status = nullptr;

void record(const std::string& line) {
    if (g_record.empty()) return;
    std::ofstream out(g_record, std::ios::app);
    out << line << "\n";
}

bool write_line(HANDLE h, const std::string& line) {
    DWORD n = 0;
    const std::string data = line + "\n";
    return ::WriteFile(h, data.data(), static_cast<DWORD>(data.size()), &n, nullptr) &&
           n == data.size();
}

/// Runs the protocol on (in, out) until graceful-termination or EOF. Returns true after
/// graceful-termination.
bool protocol(HANDLE in, HANDLE out, bool stop_after_hello) {
    std::string buf;
    char chunk[4096];
    for (;;) {
        std::size_t nl;
        while ((nl = buf.find('\n')) != std::string::npos) {
            std::string line = buf.substr(0, nl);
            buf.erase(0, nl + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.rfind("~{", 0) != 0) continue;
            boost::system::error_code ec;
            auto v = boost::json::parse(line.substr(1), ec);
            if (ec || !v.is_object() || !v.as_object().contains("type")) continue;
            const std::string type(v.as_object().at("type").as_string());
            record("received " + type);
            if (type == "welcome") {
                write_line(out,
                           R"(~{"type":"hello","capabilities":["graceful-termination","log"]})");
                record("sent hello");
                write_line(
                    out, R"(~{"type":"log","body":{"textPayload":"fake-worker-win is running"}})");
                if (stop_after_hello) return false;
            } else if (type == "graceful-termination") {
                return true;
            }
        }
        DWORD n = 0;
        if (!::ReadFile(in, chunk, sizeof chunk, &n, nullptr) || n == 0) {
            record("eof");
            return false;
        }
        buf.append(chunk, n);
    }
}

void set_status(DWORD state, DWORD code) {
    SERVICE_STATUS st{};
    st.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    st.dwCurrentState = state;
    st.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP : 0;
    if (code) {
        st.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
        st.dwServiceSpecificExitCode = code;
    }
    ::SetServiceStatus(g_status, &st);
}

DWORD WINAPI control(DWORD c, DWORD, void*, void*) {
    if (c == SERVICE_CONTROL_STOP) {
        record("stop requested");
        set_status(SERVICE_STOPPED, 0);
        ::ExitProcess(0);
    }
    return NO_ERROR;
}

HANDLE open_pipe(const std::string& name, DWORD access) {
    for (int i = 0; i < 100; ++i) {
        HANDLE h = ::CreateFileA(name.c_str(), access, 0, nullptr, OPEN_EXISTING, 0, nullptr);
        if (h != INVALID_HANDLE_VALUE) return h;
        ::Sleep(100);
    }
    return INVALID_HANDLE_VALUE;
}

void WINAPI service_main(DWORD, LPSTR*) {
    g_status = ::RegisterServiceCtrlHandlerExA(g_service.c_str(), control, nullptr);
    set_status(SERVICE_RUNNING, 0);
    record("start service");
    HANDLE out = open_pipe(g_pipe + "-input", GENERIC_WRITE);
    HANDLE in = open_pipe(g_pipe + "-output", GENERIC_READ);
    if (in == INVALID_HANDLE_VALUE || out == INVALID_HANDLE_VALUE) {
        record("cannot open the protocol pipes");
        set_status(SERVICE_STOPPED, 78);
        return;
    }
    record("connected");
    protocol(in, out, g_exit == 67);
    ::CloseHandle(out);
    ::CloseHandle(in);
    record("exit " + std::to_string(g_exit));
    set_status(SERVICE_STOPPED, static_cast<DWORD>(g_exit));
}

}  // namespace

/// Waits up to 60 s until the SCM's database is not locked (it is while the SCM starts the
/// automatic-start services after boot; Wine's sc then fails silently). Exit 0 once unlocked.
int wait_scm() {
    for (int i = 0; i < 240; ++i) {
        SC_HANDLE m = ::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_QUERY_LOCK_STATUS);
        if (m) {
            char buf[1024];
            DWORD needed = 0;
            auto* st = reinterpret_cast<QUERY_SERVICE_LOCK_STATUSW*>(buf);
            const BOOL ok = ::QueryServiceLockStatusW(m, st, sizeof buf, &needed);
            ::CloseServiceHandle(m);
            if (ok && !st->fIsLocked) return 0;
        }
        ::Sleep(250);
    }
    return 1;
}

int main(int argc, char** argv) {
    if (argc == 2 && std::strcmp(argv[1], "--wait-scm") == 0) return wait_scm();
    if (argc >= 5 && std::strcmp(argv[1], "--service") == 0) {
        g_service = argv[2];
        for (int i = 3; i + 1 < argc; i += 2) {
            if (!std::strcmp(argv[i], "--pipe")) g_pipe = argv[i + 1];
            if (!std::strcmp(argv[i], "--record")) g_record = argv[i + 1];
            if (!std::strcmp(argv[i], "--exit")) g_exit = std::atoi(argv[i + 1]);
        }
        SERVICE_TABLE_ENTRYA table[] = {{g_service.data(), service_main}, {nullptr, nullptr}};
        return ::StartServiceCtrlDispatcherA(table) ? 0 : 70;
    }
    if (argc == 5 && !std::strcmp(argv[1], "run") && !std::strcmp(argv[2], "--config") &&
        !std::strcmp(argv[4], "--with-worker-runner")) {
        std::ifstream in(argv[3], std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        boost::system::error_code ec;
        auto cfg = boost::json::parse(text, ec);
        if (ec || !cfg.is_object()) {
            std::fprintf(stderr, "fake-worker-win: cannot parse %s\n", argv[3]);
            return 78;
        }
        if (auto* r = cfg.as_object().if_contains("fakeRecord"); r && r->is_string())
            g_record = std::string(r->as_string());
        if (auto* e = cfg.as_object().if_contains("fakeExit"); e && e->is_int64())
            g_exit = static_cast<int>(e->as_int64());
        bool exit_after_hello = false;
        if (auto* e = cfg.as_object().if_contains("fakeExitAfterHello"); e && e->is_bool())
            exit_after_hello = e->as_bool();
        record("start command");
        if (auto* id = cfg.as_object().if_contains("workerId"); id && id->is_string())
            record("workerId " + std::string(id->as_string()));
        protocol(::GetStdHandle(STD_INPUT_HANDLE), ::GetStdHandle(STD_OUTPUT_HANDLE),
                 exit_after_hello);
        record("exit " + std::to_string(g_exit));
        return g_exit;
    }
    std::fprintf(stderr, "fake-worker-win: bad command line\n");
    return 64;
}
