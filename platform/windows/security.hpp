#pragma once
// Owner-only security descriptors for files with credentials and for the protocol pipes.
// Windows only; the pure checks are exposed so that they can be tested on descriptors built
// from SDDL (Wine derives file DACLs from the Unix mode, so a file round trip cannot show them).
#include <memory>
#include <string>
#include <windows.h>

namespace sw::platform::win {

/// A self-relative security descriptor from SDDL (ConvertStringSecurityDescriptorToSecurity-
/// DescriptorW), freed with LocalFree. Throws std::system_error naming the SDDL's purpose.
std::unique_ptr<void, void (*)(void*)> security_descriptor_from_sddl(const std::string& sddl,
                                                                     const std::string& purpose);

/// What a private file gets, as the Go runner's perms.WritePrivateFile (reference 9.3): owner =
/// the current user, group = S-1-0-0, protected DACL with one ACE, full access for OWNER RIGHTS.
std::string private_file_sddl(const std::string& user_sid);

/// The named pipes' descriptor (reference 5.1): protected DACL, generic-all for the current
/// user and for SYSTEM.
std::string pipe_sddl(const std::string& user_sid);

/// "" if `sd` is owner-only for `user_sid`, else the problem ("owner is S-..., not us",
/// "DACL is not protected (inherits)", "grants access to S-1-1-0"): the owner must be the user,
/// the DACL present and protected, and every ACE an allow ACE for OWNER RIGHTS (S-1-3-4) or
/// the user. `path` names the file in the message.
std::string private_descriptor_problem(PSECURITY_DESCRIPTOR sd, const std::string& user_sid,
                                       const std::string& path);

}  // namespace sw::platform::win
