/* SPDX-License-Identifier: MIT */
/*
 * gssapi_stubs.c: the GSSAPI functions that a static libzmq refers to, for a
 * flowrun that carries libzmq itself (tools/CMakeLists.txt,
 * FLOW_STATIC_FLOWRUN).
 *
 * libzmq's GSSAPI security mechanism is linked in whole, but flow never
 * selects it (no socket sets ZMQ_GSSAPI_SERVER or ZMQ_GSSAPI_CLIENT), so
 * none of these is ever called; were one called, it would fail like a
 * GSSAPI without any mechanism. They spare every run the loading of
 * libgssapi_krb5 and the six libraries it needs. Compiled with hidden
 * visibility, they are not exported: a plugin that loads the real GSSAPI
 * gets the real one.
 */
#include <gssapi/gssapi.h>
#include <stddef.h>

gss_OID GSS_C_NT_USER_NAME = NULL;
gss_OID GSS_C_NT_HOSTBASED_SERVICE = NULL;

static OM_uint32
unavailable(OM_uint32 *minor_status)
{
    if (minor_status)
        *minor_status = 0;
    return GSS_S_UNAVAILABLE;
}

OM_uint32
gss_accept_sec_context(OM_uint32 *minor_status, gss_ctx_id_t *context_handle,
                       gss_cred_id_t acceptor_cred_handle,
                       gss_buffer_t input_token_buffer,
                       gss_channel_bindings_t input_chan_bindings,
                       gss_name_t *src_name, gss_OID *mech_type,
                       gss_buffer_t output_token, OM_uint32 *ret_flags,
                       OM_uint32 *time_rec,
                       gss_cred_id_t *delegated_cred_handle)
{
    (void)context_handle;
    (void)acceptor_cred_handle;
    (void)input_token_buffer;
    (void)input_chan_bindings;
    (void)src_name;
    (void)mech_type;
    (void)output_token;
    (void)ret_flags;
    (void)time_rec;
    (void)delegated_cred_handle;
    return unavailable(minor_status);
}

OM_uint32
gss_acquire_cred(OM_uint32 *minor_status, gss_name_t desired_name,
                 OM_uint32 time_req, gss_OID_set desired_mechs,
                 gss_cred_usage_t cred_usage, gss_cred_id_t *output_cred_handle,
                 gss_OID_set *actual_mechs, OM_uint32 *time_rec)
{
    (void)desired_name;
    (void)time_req;
    (void)desired_mechs;
    (void)cred_usage;
    (void)output_cred_handle;
    (void)actual_mechs;
    (void)time_rec;
    return unavailable(minor_status);
}

OM_uint32
gss_delete_sec_context(OM_uint32 *minor_status, gss_ctx_id_t *context_handle,
                       gss_buffer_t output_token)
{
    (void)context_handle;
    (void)output_token;
    return unavailable(minor_status);
}

OM_uint32
gss_display_name(OM_uint32 *minor_status, gss_name_t input_name,
                 gss_buffer_t output_name_buffer, gss_OID *output_name_type)
{
    (void)input_name;
    (void)output_name_buffer;
    (void)output_name_type;
    return unavailable(minor_status);
}

OM_uint32
gss_import_name(OM_uint32 *minor_status, gss_buffer_t input_name_buffer,
                gss_OID input_name_type, gss_name_t *output_name)
{
    (void)input_name_buffer;
    (void)input_name_type;
    (void)output_name;
    return unavailable(minor_status);
}

OM_uint32
gss_init_sec_context(OM_uint32 *minor_status,
                     gss_cred_id_t claimant_cred_handle,
                     gss_ctx_id_t *context_handle, gss_name_t target_name,
                     gss_OID mech_type, OM_uint32 req_flags, OM_uint32 time_req,
                     gss_channel_bindings_t input_chan_bindings,
                     gss_buffer_t input_token, gss_OID *actual_mech_type,
                     gss_buffer_t output_token, OM_uint32 *ret_flags,
                     OM_uint32 *time_rec)
{
    (void)claimant_cred_handle;
    (void)context_handle;
    (void)target_name;
    (void)mech_type;
    (void)req_flags;
    (void)time_req;
    (void)input_chan_bindings;
    (void)input_token;
    (void)actual_mech_type;
    (void)output_token;
    (void)ret_flags;
    (void)time_rec;
    return unavailable(minor_status);
}

OM_uint32
gss_release_buffer(OM_uint32 *minor_status, gss_buffer_t buffer)
{
    (void)buffer;
    return unavailable(minor_status);
}

OM_uint32
gss_release_cred(OM_uint32 *minor_status, gss_cred_id_t *cred_handle)
{
    (void)cred_handle;
    return unavailable(minor_status);
}

OM_uint32
gss_release_name(OM_uint32 *minor_status, gss_name_t *input_name)
{
    (void)input_name;
    return unavailable(minor_status);
}

OM_uint32
gss_unwrap(OM_uint32 *minor_status, gss_ctx_id_t context_handle,
           gss_buffer_t input_message_buffer,
           gss_buffer_t output_message_buffer, int *conf_state,
           gss_qop_t *qop_state)
{
    (void)context_handle;
    (void)input_message_buffer;
    (void)output_message_buffer;
    (void)conf_state;
    (void)qop_state;
    return unavailable(minor_status);
}

OM_uint32
gss_wrap(OM_uint32 *minor_status, gss_ctx_id_t context_handle,
         int conf_req_flag, gss_qop_t qop_req,
         gss_buffer_t input_message_buffer, int *conf_state,
         gss_buffer_t output_message_buffer)
{
    (void)context_handle;
    (void)conf_req_flag;
    (void)qop_req;
    (void)input_message_buffer;
    (void)conf_state;
    (void)output_message_buffer;
    return unavailable(minor_status);
}
