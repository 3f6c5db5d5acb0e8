# copkg.cmake - assemble the copkg package of occopus-c (cmake -P, run by the `copkg` target).
#
# Inputs (-D): SRC (packaging/copkg), BIN_DIR (where the programs are built), PROGRAMS (names,
# '|'-separated), VERSION, COORDINATE, STAGE (a scratch directory), OUT (the zip), STRIP and
# OBJDUMP (may be empty).
#
# The zip holds bin/ (the programs, stripped), etc/occopus_config.yaml, script.d/start.sh and
# stop.sh, and README (with the shared libraries of the system the programs need, from their
# DT_NEEDED entries, and the Debian packages holding them). No lib/: the project's libraries are
# static. Times are fixed, so the same programs give the same bytes.
cmake_minimum_required(VERSION 3.18)

foreach(v SRC BIN_DIR PROGRAMS VERSION COORDINATE STAGE OUT)
	if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
		message(FATAL_ERROR "copkg.cmake: ${v} is not set")
	endif()
endforeach()
string(REPLACE "|" ";" PROGRAMS "${PROGRAMS}")

file(REMOVE_RECURSE ${STAGE})
file(MAKE_DIRECTORY ${STAGE}/bin ${STAGE}/etc ${STAGE}/script.d)

set(exe_perms OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ
	WORLD_EXECUTE)
set(needed)
set(programs_found)
foreach(p ${PROGRAMS})
	if(NOT EXISTS ${BIN_DIR}/${p})
		message(FATAL_ERROR "copkg.cmake: '${BIN_DIR}/${p}' is not built")
	endif()
	file(COPY ${BIN_DIR}/${p} DESTINATION ${STAGE}/bin FILE_PERMISSIONS ${exe_perms})
	if(STRIP)
		execute_process(COMMAND ${STRIP} --strip-unneeded ${STAGE}/bin/${p}
			RESULT_VARIABLE rc)
		if(NOT rc EQUAL 0)
			message(FATAL_ERROR "copkg.cmake: cannot strip '${p}'")
		endif()
	endif()
	if(OBJDUMP)
		execute_process(COMMAND ${OBJDUMP} -p ${STAGE}/bin/${p} OUTPUT_VARIABLE dump
			RESULT_VARIABLE rc)
		string(REGEX MATCHALL "NEEDED +[^\n]+" lines "${dump}")
		foreach(l ${lines})
			string(REGEX REPLACE "NEEDED +" "" lib "${l}")
			string(STRIP "${lib}" lib)
			list(APPEND needed ${lib})
		endforeach()
	endif()
endforeach()
list(REMOVE_DUPLICATES needed)
list(SORT needed)

# each library with the Debian package that holds it, when this is a Debian system
set(NEEDED "")
foreach(lib ${needed})
	set(where "")
	execute_process(COMMAND sh -c "ldconfig -p | awk -v l='${lib}' '$1 == l { print $NF; exit }'"
		OUTPUT_VARIABLE path OUTPUT_STRIP_TRAILING_WHITESPACE)
	if(path)
		# dpkg knows /usr/lib/... where ldconfig says /lib/... (merged /usr)
		execute_process(COMMAND sh -c "dpkg-query -S '${path}' 2>/dev/null || dpkg-query -S '/usr${path}'"
			OUTPUT_VARIABLE owner OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
			RESULT_VARIABLE rc)
		if(rc EQUAL 0 AND owner)
			string(REGEX REPLACE ":.*" "" owner "${owner}")
			set(where " [${owner}]")
		endif()
	endif()
	string(APPEND NEEDED "  ${lib}${where}\n")
endforeach()
if(NEEDED STREQUAL "")
	set(NEEDED "  (not computed: objdump was not found)\n")
endif()

file(COPY ${SRC}/start.sh ${SRC}/stop.sh DESTINATION ${STAGE}/script.d
	FILE_PERMISSIONS ${exe_perms})
file(COPY ${SRC}/occopus_config.yaml DESTINATION ${STAGE}/etc)
configure_file(${SRC}/README.in ${STAGE}/README @ONLY)

get_filename_component(outdir ${OUT} DIRECTORY)
file(MAKE_DIRECTORY ${outdir})
file(REMOVE ${OUT})
file(GLOB_RECURSE entries RELATIVE ${STAGE} ${STAGE}/*)
list(SORT entries)
execute_process(COMMAND ${CMAKE_COMMAND} -E tar cf ${OUT} --format=zip "--mtime=2020-01-01 00:00:00 UTC"
		-- ${entries}
	WORKING_DIRECTORY ${STAGE} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "copkg.cmake: cannot write '${OUT}'")
endif()
