// Owner-only security descriptors (reference worker-runner.md 5.1 and 9.3).
#include "platform/windows/security.hpp"

#include "platform/windows/win.hpp"

#include <fmt/format.h>

#include <aclapi.h>
#include <sddl.h>

namespace sw::platform::win {

std::unique_ptr<void, void (*)(void*)> security_descriptor_from_sddl(const std::string& sddl,
                                                                     const std::string& purpose) {
    PSECURITY_DESCRIPTOR sd = nullptr;
    if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(widen(sddl).c_str(),
                                                                SDDL_REVISION_1, &sd, nullptr))
        throw_win32("building the security descriptor for " + purpose);
    return {sd, [](void* p) { ::LocalFree(p); }};
}

std::string private_file_sddl(const std::string& user_sid) {
    return "O:" + user_sid + "G:S-1-0-0D:P(A;;FA;;;OW)";
}

std::string pipe_sddl(const std::string& user_sid) {
    return "D:P(A;;GA;;;" + user_sid + ")(A;;GA;;;SY)";
}

namespace {

std::string sid_text(PSID sid) {
    LPWSTR text = nullptr;
    if (!sid || !::ConvertSidToStringSidW(sid, &text)) return "(unknown)";
    std::unique_ptr<void, local_free> guard(text);
    return narrow(text);
}

}  // namespace

std::string private_descriptor_problem(PSECURITY_DESCRIPTOR sd, const std::string& user_sid,
                                       const std::string& path) {
    PSID owner = nullptr;
    BOOL defaulted = FALSE;
    if (!::GetSecurityDescriptorOwner(sd, &owner, &defaulted) || !owner)
        return fmt::format("{} has no owner", path);
    if (sid_text(owner) != user_sid)
        return fmt::format("{} is owned by {}, not by us ({})", path, sid_text(owner), user_sid);
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD revision = 0;
    if (!::GetSecurityDescriptorControl(sd, &control, &revision))
        return fmt::format("{}: unreadable security descriptor", path);
    BOOL present = FALSE;
    PACL dacl = nullptr;
    if (!::GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) || !present || !dacl)
        return fmt::format("{} has no DACL (everyone has access)", path);
    if (!(control & SE_DACL_PROTECTED))
        return fmt::format("{} has a DACL that inherits from its directory; it must be protected",
                           path);
    ACL_SIZE_INFORMATION info{};
    if (!::GetAclInformation(dacl, &info, sizeof info, AclSizeInformation))
        return fmt::format("{}: unreadable DACL", path);
    for (DWORD i = 0; i < info.AceCount; ++i) {
        void* raw = nullptr;
        if (!::GetAce(dacl, i, &raw)) return fmt::format("{}: unreadable ACE {}", path, i);
        const auto* header = static_cast<ACE_HEADER*>(raw);
        if (header->AceType == ACCESS_DENIED_ACE_TYPE) continue;  // denying never widens
        if (header->AceType != ACCESS_ALLOWED_ACE_TYPE)
            return fmt::format(
                "{} has an ACE of type {}; only allow ACEs for the owner are "
                "accepted",
                path, header->AceType);
        auto* ace = static_cast<ACCESS_ALLOWED_ACE*>(raw);
        const std::string sid = sid_text(&ace->SidStart);
        if (sid != "S-1-3-4" && sid != user_sid)
            return fmt::format("{} grants access to {}; it must be owner-only", path, sid);
    }
    return {};
}

}  // namespace sw::platform::win
