# Warnings for all of flow's own code.
add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
                    -Wmissing-prototypes -Wvla -Wformat=2)
if(FLOW_WERROR)
  add_compile_options(-Werror)
endif()
