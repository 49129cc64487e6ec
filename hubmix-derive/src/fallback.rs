//! When the input has errors: the errors, plus a stub impl so that code using the model (say
//! `Mlp::from_pretrained(...)`) does not add a cascade of "trait not implemented" errors
//! (thiserror's fallback).

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use crate::ast::{Data, Input};

pub fn expand(input: &Input, errors: syn::Error) -> TokenStream {
    // A union can never be a Burn module: a stub would only add an error.
    if let Data::Union { .. } = input.data {
        return errors.into_compile_error();
    }
    let krate = input.attrs.crate_path();
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut errors = errors.into_iter();
    let config = match input.attrs.config.get() {
        Some(ty) => ty.to_token_stream(),
        // Unknown config type: the first error, in type position, makes `Config` an error type,
        // which the compiler does not report again wherever it is used.
        None => errors
            .next()
            .map(syn::Error::into_compile_error)
            .unwrap_or_default(),
    };
    let errors = errors.map(syn::Error::into_compile_error);
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::HubModel for #ident #ty_generics #where_clause {
            type Config = #config;

            fn hub_info() -> &'static #krate::ModelInfo {
                ::core::unreachable!()
            }

            fn hub_config(&self) -> Self::Config {
                ::core::unreachable!()
            }

            fn hub_init(_: &Self::Config, _: &#krate::Device) -> Self {
                ::core::unreachable!()
            }
        }
        #(#errors)*
    }
}
