# SPDX-License-Identifier: LGPL-2.1-or-later
# `cmake --build BUILD --target uninstall`: removes every file `cmake --install BUILD` listed in
# BUILD/install_manifest.txt (under $DESTDIR when set). Directories are left: they may hold the
# admin's files (/etc/mlockd/policy.d) or be shared with other software. For installs made by a
# package manager, remove the package instead.
if(NOT EXISTS "${MANIFEST}")
        message(FATAL_ERROR "${MANIFEST} does not exist: nothing was installed from this build")
endif()
file(STRINGS "${MANIFEST}" files)
foreach(f ${files})
        set(path "$ENV{DESTDIR}${f}")
        if(IS_SYMLINK "${path}" OR EXISTS "${path}")
                message(STATUS "Removing ${path}")
                file(REMOVE "${path}")
        else()
                message(STATUS "Already gone: ${path}")
        endif()
endforeach()
