#pragma once
// Small Win32 helpers shared by platform/windows/*.cpp: UTF-8 <-> UTF-16, errors, handles.
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <windows.h>

namespace sw::platform::win {

/// UTF-8 -> UTF-16 (MultiByteToWideChar, CP_UTF8). Invalid sequences become U+FFFD.
std::wstring widen(std::string_view s);
/// UTF-16 -> UTF-8 (WideCharToMultiByte, CP_UTF8).
std::string narrow(std::wstring_view s);

/// A std::system_error for a Win32 error code (GetLastError() by default), "what: <message>".
[[noreturn]] void throw_win32(const std::string& what, DWORD err = ::GetLastError());
inline std::error_code win32_error(DWORD err = ::GetLastError()) {
    return {static_cast<int>(err), std::system_category()};
}

/// Owns a HANDLE (CloseHandle); both NULL and INVALID_HANDLE_VALUE mean "none".
class handle {
  public:
    handle() = default;
    explicit handle(HANDLE h) : h_(h) {}
    handle(handle&& o) noexcept : h_(o.release()) {}
    handle& operator=(handle&& o) noexcept {
        if (this != &o) reset(o.release());
        return *this;
    }
    ~handle() { reset(); }
    HANDLE get() const { return h_; }
    explicit operator bool() const { return h_ != nullptr && h_ != INVALID_HANDLE_VALUE; }
    HANDLE release() { return std::exchange(h_, nullptr); }
    void reset(HANDLE h = nullptr) {
        if (*this) ::CloseHandle(h_);
        h_ = h;
    }

  private:
    HANDLE h_ = nullptr;
};

/// Frees with LocalFree (security descriptors and SIDs returned by the Win32 API).
struct local_free {
    void operator()(void* p) const {
        if (p) ::LocalFree(p);
    }
};

/// The current process token's user SID as a string ("S-1-5-21-...").
std::string current_user_sid();

/// Quotes one argument for CreateProcess the way CommandLineToArgvW / the MSVC runtime parse it.
std::wstring quote_arg(const std::wstring& arg);

}  // namespace sw::platform::win
