# CMake toolchain file: cross-build for 64-bit Windows with Debian's mingw-w64 (the POSIX
# threads variant, g++-mingw-w64-x86-64-posix, which std::thread and Asio need).
# Used by scripts/build-windows; the dependency prefixes come in through CMAKE_PREFIX_PATH.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(SW_MINGW_TRIPLE x86_64-w64-mingw32)

set(CMAKE_C_COMPILER ${SW_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${SW_MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${SW_MINGW_TRIPLE}-windres)
set(CMAKE_AR ${SW_MINGW_TRIPLE}-gcc-ar-posix CACHE FILEPATH "")
set(CMAKE_RANLIB ${SW_MINGW_TRIPLE}-gcc-ranlib-posix CACHE FILEPATH "")

# Look for headers, libraries and packages only in the target's root and in the dependency
# prefixes (CMAKE_PREFIX_PATH, each also a root so that it is not re-rooted), never in the
# build machine's /usr.
set(CMAKE_FIND_ROOT_PATH /usr/${SW_MINGW_TRIPLE} ${CMAKE_PREFIX_PATH})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# One self-contained .exe: no libstdc++/libgcc/libwinpthread DLLs next to it.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")
# Windows 10 / Server 2016 API level (InitiateShutdownW, nested job objects).
add_compile_definitions(_WIN32_WINNT=0x0A00 WINVER=0x0A00 WIN32_LEAN_AND_MEAN NOMINMAX)
# mingw-w64's localtime_r/gmtime_r, which the portable code uses.
add_compile_definitions(_POSIX_THREAD_SAFE_FUNCTIONS=200112L)

# Running a target binary at configure time goes through Wine, when it is there.
find_program(SW_WINE64 wine64)
if(SW_WINE64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${SW_WINE64})
endif()
