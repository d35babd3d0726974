/* core/version.h - the release version, bumped by hand (docs/CHANGELOG.md). */
#ifndef JANSEVA_CORE_VERSION_H
#define JANSEVA_CORE_VERSION_H

#define JANSEVA_VERSION "0.1.0"

#endif
