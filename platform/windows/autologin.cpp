// Windows autologon: the Winlogon registry values AutoAdminLogon, DefaultUserName and
// DefaultDomainName, the password as the LSA secret DefaultPassword (LsaStorePrivateData), and
// any clear-text DefaultPassword registry value removed
// (https://learn.microsoft.com/troubleshoot/windows-server/user-profiles-and-logon/turn-on-automatic-logon).
//
// An autologin_edit's `file` names what changes: "registry:<key>\<value>" (set a REG_SZ),
// "registry-delete:<key>\<value>" (delete the value), or "lsa-secret:DefaultPassword"; the
// description never holds the password.
#include "platform/autologin.hpp"

#include "platform/windows/win.hpp"

#include <memory>
#include <ntsecapi.h>
#include <stdexcept>
#include <wtsapi32.h>

namespace sw::platform {
namespace {

using win::narrow;
using win::widen;

const std::string winlogon_key = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon";
const std::string set_prefix = "registry:";
const std::string delete_prefix = "registry-delete:";
const std::string lsa_prefix = "lsa-secret:";

/// The Winlogon key: HKLM normally, a stand-in under HKCU for any other root (tests).
std::pair<HKEY, std::string> winlogon(const std::string& root) {
    if (root.empty() || root == "/") return {HKEY_LOCAL_MACHINE, winlogon_key};
    std::string key = root;
    for (auto& c : key)
        if (c == '/') c = '\\';
    while (!key.empty() && key.front() == '\\') key.erase(0, 1);
    return {HKEY_CURRENT_USER, key + "\\Winlogon"};
}

std::string hive_name(HKEY hive) {
    return hive == HKEY_LOCAL_MACHINE ? "HKLM" : "HKCU";
}

std::pair<HKEY, std::string> parse_hive(const std::string& path) {
    if (path.rfind("HKLM\\", 0) == 0) return {HKEY_LOCAL_MACHINE, path.substr(5)};
    if (path.rfind("HKCU\\", 0) == 0) return {HKEY_CURRENT_USER, path.substr(5)};
    throw std::invalid_argument("not a registry path: " + path);
}

/// A REG_SZ value, or nullopt if absent.
std::optional<std::string> read_value(HKEY hive, const std::string& key, const std::string& name) {
    DWORD type = 0, size = 0;
    if (::RegGetValueW(hive, widen(key).c_str(), widen(name).c_str(), RRF_RT_REG_SZ, &type, nullptr,
                       &size) != ERROR_SUCCESS)
        return std::nullopt;
    std::wstring buf(size / sizeof(wchar_t) + 1, L'\0');
    if (::RegGetValueW(hive, widen(key).c_str(), widen(name).c_str(), RRF_RT_REG_SZ, &type,
                       buf.data(), &size) != ERROR_SUCCESS)
        return std::nullopt;
    buf.resize(std::wcslen(buf.c_str()));
    return narrow(buf);
}

void check_username(const std::string& user) {
    if (user.empty()) throw std::invalid_argument("autologin username is empty");
    for (const unsigned char c : user)
        if (c < ' ' || c == 0x7f ||
            std::string_view("/[]:;|=,+*?<>\"").find(static_cast<char>(c)) !=
                std::string_view::npos)
            throw std::invalid_argument("autologin username \"" + user +
                                        "\" contains a character not allowed in a Windows "
                                        "account name");
}

void store_lsa_secret(const std::string& name, const std::string& value) {
    LSA_OBJECT_ATTRIBUTES attrs{};
    LSA_HANDLE policy = nullptr;
    NTSTATUS st = ::LsaOpenPolicy(nullptr, &attrs, POLICY_CREATE_SECRET, &policy);
    if (st != 0) win::throw_win32("LsaOpenPolicy", ::LsaNtStatusToWinError(st));
    std::unique_ptr<void, decltype(&::LsaClose)> guard(policy, &::LsaClose);
    std::wstring wname = widen(name), wvalue = widen(value);
    LSA_UNICODE_STRING key{static_cast<USHORT>(wname.size() * sizeof(wchar_t)),
                           static_cast<USHORT>(wname.size() * sizeof(wchar_t)), wname.data()};
    LSA_UNICODE_STRING data{static_cast<USHORT>(wvalue.size() * sizeof(wchar_t)),
                            static_cast<USHORT>(wvalue.size() * sizeof(wchar_t)), wvalue.data()};
    st = ::LsaStorePrivateData(policy, &key, &data);
    ::SecureZeroMemory(wvalue.data(), wvalue.size() * sizeof(wchar_t));
    if (st != 0) {
        throw std::system_error(
            static_cast<int>(::LsaNtStatusToWinError(st)), std::system_category(),
            "LsaStorePrivateData(" + name + ") returned NTSTATUS 0x" + [&] {
                char b[16];
                std::snprintf(b, sizeof b, "%08lX", static_cast<unsigned long>(st));
                return std::string(b);
            }());
    }
}

}  // namespace

std::vector<autologin_edit> plan_autologin(const std::string& root, const std::string& username,
                                           const std::optional<std::string>& password) {
    check_username(username);
    // "DOMAIN\user" or "user@domain" (UPN, kept whole with an empty domain) or "user".
    std::string user = username, domain;
    if (const auto bs = username.find('\\'); bs != std::string::npos) {
        domain = username.substr(0, bs);
        user = username.substr(bs + 1);
        if (user.empty() || domain.empty() || user.find('\\') != std::string::npos)
            throw std::invalid_argument("autologin username \"" + username +
                                        "\" is not DOMAIN\\user");
    }
    if (domain.empty() && user.find('@') == std::string::npos) {
        wchar_t name[MAX_COMPUTERNAME_LENGTH + 1];
        DWORD n = MAX_COMPUTERNAME_LENGTH + 1;
        if (::GetComputerNameW(name, &n)) domain = narrow(std::wstring_view(name, n));
    }
    const auto [hive, key] = winlogon(root);
    const std::string where = hive_name(hive) + "\\" + key;
    std::vector<autologin_edit> edits;
    const auto set = [&](const std::string& name, const std::string& value) {
        if (read_value(hive, key, name) == value) return;
        edits.push_back({set_prefix + where + "\\" + name, name + "=" + value, value});
    };
    set("AutoAdminLogon", "1");
    set("DefaultUserName", user);
    set("DefaultDomainName", domain);
    if (read_value(hive, key, "DefaultPassword"))
        edits.push_back({delete_prefix + where + "\\DefaultPassword",
                         "remove the clear-text DefaultPassword value", ""});
    if (password)
        edits.push_back({lsa_prefix + "DefaultPassword",
                         "store the password as the LSA secret DefaultPassword", *password});
    return edits;
}

void apply_autologin(const std::vector<autologin_edit>& edits) {
    for (const auto& e : edits) {
        if (e.file.rfind(lsa_prefix, 0) == 0) {
            store_lsa_secret(e.file.substr(lsa_prefix.size()), e.new_contents);
            continue;
        }
        const bool remove = e.file.rfind(delete_prefix, 0) == 0;
        const std::string path = e.file.substr(remove ? delete_prefix.size() : set_prefix.size());
        const auto slash = path.find_last_of('\\');
        const auto [hive, key] = parse_hive(path.substr(0, slash));
        const std::wstring value = widen(path.substr(slash + 1));
        HKEY k = nullptr;
        LSTATUS rc = ::RegCreateKeyExW(hive, widen(key).c_str(), 0, nullptr, 0,
                                       KEY_SET_VALUE | KEY_QUERY_VALUE, nullptr, &k, nullptr);
        if (rc != ERROR_SUCCESS) win::throw_win32("opening registry key " + path, rc);
        std::unique_ptr<std::remove_pointer_t<HKEY>, decltype(&::RegCloseKey)> guard(
            k, &::RegCloseKey);
        if (remove) {
            rc = ::RegDeleteValueW(k, value.c_str());
            if (rc != ERROR_SUCCESS && rc != ERROR_FILE_NOT_FOUND)
                win::throw_win32("deleting registry value " + path, rc);
        } else {
            const std::wstring data = widen(e.new_contents);
            rc = ::RegSetValueExW(k, value.c_str(), 0, REG_SZ,
                                  reinterpret_cast<const BYTE*>(data.c_str()),
                                  static_cast<DWORD>((data.size() + 1) * sizeof(wchar_t)));
            if (rc != ERROR_SUCCESS) win::throw_win32("setting registry value " + path, rc);
        }
    }
}

bool user_session_present(const std::string& username) {
    std::string user = username;
    if (const auto bs = user.find('\\'); bs != std::string::npos) user = user.substr(bs + 1);
    WTS_SESSION_INFOW* sessions = nullptr;
    DWORD count = 0;
    if (!::WTSEnumerateSessionsW(WTS_CURRENT_SERVER_HANDLE, 0, 1, &sessions, &count)) return false;
    std::unique_ptr<WTS_SESSION_INFOW, decltype(&::WTSFreeMemory)> guard(sessions,
                                                                         &::WTSFreeMemory);
    for (DWORD i = 0; i < count; ++i) {
        if (sessions[i].State != WTSActive) continue;
        LPWSTR name = nullptr;
        DWORD bytes = 0;
        if (!::WTSQuerySessionInformationW(WTS_CURRENT_SERVER_HANDLE, sessions[i].SessionId,
                                           WTSUserName, &name, &bytes))
            continue;
        const std::string who = narrow(name);
        ::WTSFreeMemory(name);
        if (_stricmp(who.c_str(), user.c_str()) == 0) return true;
    }
    return false;
}

}  // namespace sw::platform
