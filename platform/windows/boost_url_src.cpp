// Boost.URL compiled into the Windows build (the cross-build links no compiled Boost library).
#include <boost/url/src.hpp>
