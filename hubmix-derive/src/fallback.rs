//! When the input has errors: the errors, plus a stub impl so that code using the model (say
//! `Mlp::from_pretrained(...)`) does not add a cascade of "trait not implemented" errors
//! (thiserror's fallback).

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use crate::ast::{Data, Input, Style};
use crate::expand::{impl_generics, impl_mixin};

/// The errors as `compile_error!`s, a stub `HubModel` impl whose methods are unreachable, and
/// the `ModelHubMixin` impl (its methods then never run).
pub fn expand(input: &Input, errors: syn::Error) -> TokenStream {
    // No stub where Burn's `#[derive(Module)]` cannot make the type a module (a union; a tuple
    // struct, which Burn 0.22's derive rejects): the stub would only add "not a Module" errors.
    if let Data::Union { .. }
    | Data::Struct {
        style: Style::Tuple, ..
    } = input.data
    {
        return errors.into_compile_error();
    }
    let krate = input.attrs.crate_path();
    let ident = input.ident;
    let generics = impl_generics(input);
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let (_, ty_generics, _) = input.generics.split_for_impl();
    let mut errors = errors.into_iter();
    let config = match input.attrs.config.get() {
        Some(ty) => ty.to_token_stream(),
        // Unknown config type: the first error goes in the array length of `[(); _]`, which
        // makes `Config` a type the compiler knows is in error, and so reports nothing more about
        // wherever it is used. (In type position, `compile_error!` would leave `()` instead.)
        None => {
            let first = errors.next().map(syn::Error::into_compile_error);
            quote!([(); #first])
        }
    };
    let errors = errors.map(syn::Error::into_compile_error);
    let mixin = impl_mixin(input);
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
        #mixin
        #(#errors)*
    }
}
