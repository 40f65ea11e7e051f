#pragma once
// A fresh private directory under $TMPDIR, removed with everything in it on destruction.
#include <filesystem>
#include <string>

namespace sw::test {

class temp_dir {
  public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    /// Writes `contents` to `name` (parents created) with `mode`; returns the full path.
    std::string write(const std::string& name, const std::string& contents,
                      unsigned mode = 0600) const;
    /// The whole file, or "" if it does not exist.
    std::string read(const std::string& name) const;

  private:
    std::filesystem::path path_;
};

}  // namespace sw::test
