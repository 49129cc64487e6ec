//! Code generation. The impl is as small as it can be: the attributes become a `static`
//! `ModelInfo`, plus one line each to get the config and to build the module; everything else
//! is provided by `hubmix` (the `ModelHubMixin` impl is one macro call, its items are hubmix's).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{DeriveInput, Generics, parse_quote};

use crate::ast::Input;
use crate::attr::{Attrs, Ctxt, Layout, Pair};
use crate::card::CardBody;
use crate::fallback;
use crate::valid::{self, Access, Model};
use crate::weight_map::{Rules, WeightMap};

/// `#[derive(HubModel)]` on `node`: the impl, or every error plus a stub impl.
pub fn derive(node: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let input = Input::from_syn(&cx, node);
    let model = valid::check(&cx, &input);
    match cx.finish(model) {
        Ok(model) => impl_hub_model(&model),
        Err(errors) => fallback::expand(&input, errors),
    }
}

fn impl_hub_model(model: &Model) -> TokenStream {
    let input = model.input;
    let krate = input.attrs.crate_path();
    let ident = input.ident;
    let generics = impl_generics(input);
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let (_, ty_generics, _) = input.generics.split_for_impl();
    let config_ty = model.config_ty;
    let info = model_info(&krate, model);
    let card_body = card_body_fn(&krate, &model.card);
    // Spanned at the user's tokens, so that a type error points at the field or the attribute.
    let hub_config = match &model.access {
        Access::Field(field) => {
            let member = &field.member;
            quote_spanned!(field.ty.span()=> ::core::clone::Clone::clone(&self.#member))
        }
        Access::Fn(path) => quote_spanned!(path.span()=> #path(self)),
    };
    let mixin = impl_mixin(input);
    let hub_init = match input.attrs.init_fn.get() {
        Some(path) => quote_spanned!(path.span()=> #path(config, device)),
        None => quote_spanned!(config_ty.span()=> config.init(device)),
    };
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::HubModel for #ident #ty_generics #where_clause {
            type Config = #config_ty;

            fn hub_info() -> &'static #krate::ModelInfo {
                static INFO: #krate::ModelInfo = #info;
                &INFO
            }

            fn hub_config(&self) -> #config_ty {
                #hub_config
            }

            fn hub_init(config: &#config_ty, device: &#krate::Device) -> Self {
                #hub_init
            }
            #card_body
        }

        #mixin
    }
}

/// `impl ModelHubMixin for T { hubmix::__model_hub_mixin!(); }`: the items, written once in
/// hubmix, each hand over to a function generic over `HubModel`. (`ModelHubMixin` is
/// hubmix-hub's trait, so hubmix cannot implement it for every `HubModel` at once.)
pub fn impl_mixin(input: &Input) -> TokenStream {
    let krate = input.attrs.crate_path();
    let ident = input.ident;
    let generics = impl_generics(input);
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let (_, ty_generics, _) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::ModelHubMixin for #ident #ty_generics #where_clause {
            #krate::__model_hub_mixin!();
        }
    }
}

/// The generics of the impl: the type's own and, if it has type parameters, `Self: Module`.
/// Burn's `#[derive(Module)]` bounds each type parameter by `Module + ModuleDisplay` in its impl;
/// requiring `Self: Module` carries over whatever it required, without repeating it. The path
/// is `burn::...`, as in the code Burn's derive generates.
pub fn impl_generics(input: &Input) -> Generics {
    let mut generics = input.generics.clone();
    if input.generics.type_params().next().is_some() {
        let ident = input.ident;
        let (_, ty_generics, _) = input.generics.split_for_impl();
        generics
            .make_where_clause()
            .predicates
            .push(parse_quote!(#ident #ty_generics: burn::module::Module));
    }
    generics
}

/// The model card's fields of `ModelInfo`: datasets, metrics and the template (embedded with
/// `include_str!`, spanned at the attribute's string so that an error points there).
fn card_info(attrs: &Attrs, card: &CardBody) -> [(TokenStream, Option<TokenStream>); 3] {
    let list = |values: Option<&Vec<syn::LitStr>>| values.map(|values| quote!(&[#(#values),*]));
    let template = match card {
        CardBody::Template { lit, path } => {
            Some(quote_spanned!(lit.span()=> ::core::option::Option::Some(::core::include_str!(#path))))
        }
        CardBody::Default | CardBody::Fn(_) => None,
    };
    [
        (quote!(datasets), list(attrs.datasets.get())),
        (quote!(metrics), list(attrs.metrics.get())),
        (quote!(card_template), template),
    ]
}

/// `hub_card_body`, when `card_fn` gives the body.
fn card_body_fn(krate: &TokenStream, card: &CardBody) -> TokenStream {
    match card {
        CardBody::Fn(path) => {
            let call = quote_spanned!(path.span()=> #path(self, card));
            quote! {
                fn hub_card_body(
                    &self,
                    card: &#krate::card::ModelCard,
                ) -> ::core::option::Option<::std::string::String> {
                    ::core::option::Option::Some(#call)
                }
            }
        }
        CardBody::Default | CardBody::Template { .. } => TokenStream::new(),
    }
}

/// `weight_map` and `config_keys` of `ModelInfo`: a `fn() -> WeightMap` (the user's, or a
/// non-capturing closure that builds the rules' map) and the renamed config keys.
fn weight_map_info(
    krate: &TokenStream,
    weight_map: &WeightMap,
    config_keys: &[Pair],
) -> [(TokenStream, Option<TokenStream>); 2] {
    let weight_map = match weight_map {
        WeightMap::None => None,
        // Spanned at the path, so that a function of the wrong type is reported there.
        WeightMap::Fn(path) => Some(quote_spanned!(path.span()=> ::core::option::Option::Some(#path))),
        WeightMap::Rules(rules) => {
            let calls = rule_calls(rules);
            Some(quote!(::core::option::Option::Some(|| #krate::checkpoint::WeightMap::new() #(#calls)*)))
        }
    };
    let config_keys = (!config_keys.is_empty()).then(|| {
        let pairs = config_keys.iter().map(|Pair { from, to }| quote!((#from, #to)));
        quote!(&[#(#pairs),*])
    });
    [
        (quote!(weight_map), weight_map),
        (quote!(config_keys), config_keys),
    ]
}

/// The builder calls of the rule keys, in a fixed order: `base_model_prefix`, `strip_prefix`,
/// the renames as written, `add_prefix`, `allow`, `ignore`.
fn rule_calls(rules: &Rules) -> Vec<TokenStream> {
    let renames = rules
        .rename
        .iter()
        .map(|Pair { from, to }| quote!(.rename(#from, #to)));
    let one = |name: TokenStream, value: Option<&syn::LitStr>| value.map(|value| quote!(.#name(#value)));
    let allow = rules.allow.iter().map(|value| quote!(.allow(#value)));
    let ignore = rules.ignore.iter().map(|value| quote!(.ignore(#value)));
    one(quote!(base_model_prefix), rules.base_model_prefix)
        .into_iter()
        .chain(one(quote!(strip_prefix), rules.strip_prefix))
        .chain(renames)
        .chain(one(quote!(add_prefix), rules.add_prefix))
        .chain(allow)
        .chain(ignore)
        .collect()
}

/// `ModelInfo::new("Mlp")`, with the fields the attributes set.
fn model_info(krate: &TokenStream, model: &Model) -> TokenStream {
    let input = model.input;
    let attrs = &input.attrs;
    let some = |value: Option<&syn::LitStr>| value.map(|value| quote!(::core::option::Option::Some(#value)));
    let list = |values: Option<&Vec<syn::LitStr>>| values.map(|values| quote!(&[#(#values),*]));
    let layout = attrs.layout.get().map(|layout| match layout {
        Layout::Burn => quote!(#krate::Layout::Burn),
        Layout::PyTorch => quote!(#krate::Layout::PyTorch),
    });
    // In the order of `ModelInfo`'s fields.
    let fields = [
        (
            quote!(library_name),
            attrs.library_name.get().map(|value| quote!(#value)),
        ),
        (quote!(tags), list(attrs.tags.get())),
        (quote!(license), some(attrs.license.get())),
        (quote!(pipeline_tag), some(attrs.pipeline_tag.get())),
        (quote!(language), list(attrs.language.get())),
        (quote!(repo_url), some(attrs.repo_url.get())),
        (quote!(paper_url), some(attrs.paper_url.get())),
        (quote!(docs_url), some(attrs.docs_url.get())),
        (quote!(layout), layout),
    ];
    let set: Vec<TokenStream> = fields
        .into_iter()
        .chain(card_info(attrs, &model.card))
        .chain(weight_map_info(krate, &model.weight_map, model.config_keys))
        .filter_map(|(name, value)| value.map(|value| quote!(#name: #value)))
        .collect();
    let type_name = input.ident.unraw().to_string();
    let defaults = quote!(#krate::ModelInfo::new(#type_name));
    if set.is_empty() {
        defaults
    } else {
        quote!(#krate::ModelInfo { #(#set,)* ..#defaults })
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;
    use syn::parse_quote;

    fn expand(input: syn::DeriveInput) -> String {
        super::derive(&input).to_string()
    }

    /// The impl for `Mlp` with the given `ModelInfo` expression and the default config accessors.
    fn mlp_impl(info: TokenStream) -> String {
        quote! {
            #[automatically_derived]
            impl ::hubmix::HubModel for Mlp {
                type Config = MlpConfig;
                fn hub_info() -> &'static ::hubmix::ModelInfo {
                    static INFO: ::hubmix::ModelInfo = #info;
                    &INFO
                }
                fn hub_config(&self) -> MlpConfig {
                    ::core::clone::Clone::clone(&self.config)
                }
                fn hub_init(config: &MlpConfig, device: &::hubmix::Device) -> Self {
                    config.init(device)
                }
            }
            #[automatically_derived]
            impl ::hubmix::ModelHubMixin for Mlp {
                ::hubmix::__model_hub_mixin!();
            }
        }
        .to_string()
    }

    /// The `compile_error!` messages in an expansion.
    /// One error per expected beginning, in order.
    fn assert_errors_start_with(errors: &[String], expected: &[&str]) {
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, expected) in errors.iter().zip(expected) {
            assert!(
                error.starts_with(expected),
                "{error:?} does not start with {expected:?}"
            );
        }
    }

    fn errors(input: syn::DeriveInput) -> Vec<String> {
        let output = super::derive(&input);
        let file: Vec<TokenStream> = vec![output];
        let text = quote!(#(#file)*).to_string();
        text.split("compile_error !")
            .skip(1)
            .filter_map(|rest| rest.split('"').nth(1).map(str::to_owned))
            .collect()
    }

    #[test]
    fn defaults() {
        let input = parse_quote! {
            #[hub(config = MlpConfig)]
            pub struct Mlp { fc1: Linear, fc2: Linear, #[module(skip)] config: MlpConfig }
        };
        assert_eq!(expand(input), mlp_impl(quote!(::hubmix::ModelInfo::new("Mlp"))));
    }

    #[test]
    fn the_example_of_the_docs() {
        let input = parse_quote! {
            #[hub(config = MlpConfig, tags("mlp"), license = "mit")]
            pub struct Mlp { fc1: Linear, fc2: Linear, #[module(skip)] config: MlpConfig }
        };
        let info = quote! {
            ::hubmix::ModelInfo {
                tags: &["mlp"],
                license: ::core::option::Option::Some("mit"),
                ..::hubmix::ModelInfo::new("Mlp")
            }
        };
        assert_eq!(expand(input), mlp_impl(info));
    }

    #[test]
    fn all_attributes_over_several_hub_attributes() {
        let input = parse_quote! {
            #[hub(config = MlpConfig, library_name = "burn-vision", tags("mlp", "tiny"))]
            #[hub(license = "apache-2.0", pipeline_tag = "tabular-classification", language("en", "fr"))]
            #[hub(repo_url = "https://github.com/alice/mlp", paper_url = "http://arxiv.org/abs/1")]
            #[hub(docs_url = "https://docs.rs/mlp", layout = "pytorch")]
            pub struct Mlp { fc1: Linear, #[module(skip)] config: MlpConfig }
        };
        let info = quote! {
            ::hubmix::ModelInfo {
                library_name: "burn-vision",
                tags: &["mlp", "tiny"],
                license: ::core::option::Option::Some("apache-2.0"),
                pipeline_tag: ::core::option::Option::Some("tabular-classification"),
                language: &["en", "fr"],
                repo_url: ::core::option::Option::Some("https://github.com/alice/mlp"),
                paper_url: ::core::option::Option::Some("http://arxiv.org/abs/1"),
                docs_url: ::core::option::Option::Some("https://docs.rs/mlp"),
                layout: ::hubmix::Layout::PyTorch,
                ..::hubmix::ModelInfo::new("Mlp")
            }
        };
        assert_eq!(expand(input), mlp_impl(info));
    }

    #[test]
    fn card_metadata_and_a_template_embedded_with_include_str() {
        let input = parse_quote! {
            #[hub(config = MlpConfig, datasets("alice/rows"), metrics("accuracy", "f1"))]
            #[hub(card_template = "tests/templates/card.md")]
            pub struct Mlp { #[module(skip)] config: MlpConfig }
        };
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/templates/card.md");
        let info = quote! {
            ::hubmix::ModelInfo {
                datasets: &["alice/rows"],
                metrics: &["accuracy", "f1"],
                card_template: ::core::option::Option::Some(::core::include_str!(#path)),
                ..::hubmix::ModelInfo::new("Mlp")
            }
        };
        assert_eq!(expand(input), mlp_impl(info));
    }

    #[test]
    fn card_fn_implements_hub_card_body() {
        let input = parse_quote! {
            #[hub(config = MlpConfig, card_fn = Self::card_body)]
            pub struct Mlp { #[module(skip)] config: MlpConfig }
        };
        let output = expand(input);
        let method = quote! {
            fn hub_card_body(
                &self,
                card: &::hubmix::card::ModelCard,
            ) -> ::core::option::Option<::std::string::String> {
                ::core::option::Option::Some(Self::card_body(self, card))
            }
        };
        assert!(output.contains(&method.to_string()), "{output}");
        assert!(
            output.contains(&quote!(::hubmix::ModelInfo::new("Mlp")).to_string()),
            "{output}"
        );
    }

    #[test]
    fn a_template_with_unknown_placeholders_is_refused_with_each_named() {
        let input = parse_quote! {
            #[hub(config = MlpConfig, card_template = "tests/templates/unknown.md", tags = "x")]
            pub struct Mlp { #[module(skip)] config: MlpConfig }
        };
        let errors = errors(input);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].starts_with("`tags` takes a parenthesized list"),
            "{errors:?}"
        );
        for (error, name) in errors[1..].iter().zip(["model_id", "card_data"]) {
            assert!(
                error.starts_with(&format!(
                    "unknown placeholder `{{{{ {name} }}}}` in the card template `tests/templates/unknown.md`: the \
                     placeholders are `{{{{ repo_id }}}}`, `{{{{ model_type }}}}`"
                )),
                "{error}"
            );
        }
    }

    #[test]
    fn layout_burn_and_an_empty_tag_list() {
        let input = parse_quote! {
            #[hub(config = MlpConfig, layout = "burn", tags())]
            pub struct Mlp { #[module(skip)] config: MlpConfig }
        };
        let info = quote! {
            ::hubmix::ModelInfo { tags: &[], layout: ::hubmix::Layout::Burn, ..::hubmix::ModelInfo::new("Mlp") }
        };
        assert_eq!(expand(input), mlp_impl(info));
    }

    #[test]
    fn weight_map_rules_become_one_closure_in_a_fixed_order() {
        // Written in another order than applied: the closure calls the builder in its own.
        let input = parse_quote! {
            #[hub(config = MlpConfig, ignore(r"^cls\.", "position_ids$"), allow(r"^bert\."))]
            #[hub(add_prefix = "backbone.", rename(r"^encoder\.layer\.(\d+)\." => "encoder.layers.$1.", r"\.LayerNorm\." => ".layer_norm."))]
            #[hub(strip_prefix = "model.", base_model_prefix = "bert")]
            #[hub(config_keys("hidden_size" => "d_model", "num_hidden_layers" => "n_layers"))]
            pub struct Mlp { #[module(skip)] config: MlpConfig }
        };
        let info = quote! {
            ::hubmix::ModelInfo {
                weight_map: ::core::option::Option::Some(|| ::hubmix::checkpoint::WeightMap::new()
                    .base_model_prefix("bert")
                    .strip_prefix("model.")
                    .rename(r"^encoder\.layer\.(\d+)\.", "encoder.layers.$1.")
                    .rename(r"\.LayerNorm\.", ".layer_norm.")
                    .add_prefix("backbone.")
                    .allow(r"^bert\.")
                    .ignore(r"^cls\.")
                    .ignore("position_ids$")),
                config_keys: &[("hidden_size", "d_model"), ("num_hidden_layers", "n_layers")],
                ..::hubmix::ModelInfo::new("Mlp")
            }
        };
        assert_eq!(expand(input), mlp_impl(info));
    }

    #[test]
    fn weight_map_fn_is_the_path() {
        let input = parse_quote! {
            #[hub(config = MlpConfig, weight_map = gpt2_weights, config_keys("n_embd" => "d_model"))]
            pub struct Mlp { #[module(skip)] config: MlpConfig }
        };
        let info = quote! {
            ::hubmix::ModelInfo {
                weight_map: ::core::option::Option::Some(gpt2_weights),
                config_keys: &[("n_embd", "d_model")],
                ..::hubmix::ModelInfo::new("Mlp")
            }
        };
        assert_eq!(expand(input), mlp_impl(info));
    }

    #[test]
    fn weight_map_errors_all_at_once() {
        let input = parse_quote! {
            #[hub(config = MlpConfig, base_model_prefix = "bert.", strip_prefix = "", allow("("))]
            #[hub(rename(r"^h\.(\d+)\." => "blocks.$2.", "(?P<n>x)" => "${m}", "^(a)" => "$1b"))]
            #[hub(config_keys("a" => "a", "b" => "c", "b" => "d", "e" => "c"))]
            pub struct Mlp { #[module(skip)] config: MlpConfig }
        };
        let errors = errors(input);
        let expected = [
            "empty `strip_prefix`",
            "`base_model_prefix` is a name without the dot (transformers' `base_model_prefix`): write \
             `base_model_prefix = ",
            "`$2` in the replacement refers to a group the pattern does not have: it has one group, `$1`",
            "`${m}` in the replacement refers to a group named `m` the pattern does not have: its named groups \
             are `${n}`",
            "`$1b` in the replacement is the group named `1b`, which the pattern does not have: for group 1 \
             followed by `b`, write `${1}b`",
            "this pattern of `allow` is not a valid regex (the `regex` crate's syntax): unclosed group\\n    (\\n    ^",
            "`config_keys` maps `a` to itself",
            "`b` is renamed twice in `config_keys(...)`",
            "two keys of `config_keys(...)` become `c`",
        ];
        assert_errors_start_with(&errors, &expected);
    }

    #[test]
    fn weight_map_beside_rule_keys_points_at_each_rule_key() {
        let input = parse_quote! {
            #[hub(config = MlpConfig, weight_map = Self::weights, rename("a" => "b"), ignore("c"))]
            pub struct Mlp { #[module(skip)] config: MlpConfig }
        };
        let errors = errors(input);
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors[0].starts_with("`rename` with `weight_map`: the function gives the whole map, so put this rule in it (`WeightMap::new().rename(..)`)"), "{errors:#?}");
        assert!(errors[1].starts_with("`ignore` with `weight_map`"), "{errors:#?}");
    }

    #[test]
    fn enum_with_config_fn_and_init_fn() {
        let input = parse_quote! {
            #[hub(config = BlockConfig, config_fn = Block::config, init_fn = build_block)]
            enum Block { Linear(Linear), Conv(Conv2d) }
        };
        let expected = quote! {
            #[automatically_derived]
            impl ::hubmix::HubModel for Block {
                type Config = BlockConfig;
                fn hub_info() -> &'static ::hubmix::ModelInfo {
                    static INFO: ::hubmix::ModelInfo = ::hubmix::ModelInfo::new("Block");
                    &INFO
                }
                fn hub_config(&self) -> BlockConfig {
                    Block::config(self)
                }
                fn hub_init(config: &BlockConfig, device: &::hubmix::Device) -> Self {
                    build_block(config, device)
                }
            }
            #[automatically_derived]
            impl ::hubmix::ModelHubMixin for Block {
                ::hubmix::__model_hub_mixin!();
            }
        };
        assert_eq!(expand(input), expected.to_string());
    }

    #[test]
    fn paths_given_as_strings() {
        let input = parse_quote! {
            #[hub(config = "crate::cfg::MlpConfig", config_fn = "Self::config", init_fn = "Self::new")]
            struct Mlp { fc1: Linear }
        };
        let output = expand(input);
        assert!(
            output.contains(
                &quote!(
                    type Config = crate::cfg::MlpConfig;
                )
                .to_string()
            ),
            "{output}"
        );
        assert!(
            output.contains(&quote!(Self::config(self)).to_string()),
            "{output}"
        );
        assert!(
            output.contains(&quote!(Self::new(config, device)).to_string()),
            "{output}"
        );
    }

    #[test]
    fn crate_override_as_path_and_as_string() {
        for input in [
            parse_quote! {
                #[hub(config = MlpConfig, crate = my_models::hubmix, layout = "pytorch")]
                struct Mlp { #[module(skip)] config: MlpConfig }
            },
            parse_quote! {
                #[hub(config = MlpConfig, crate = "my_models::hubmix", layout = "pytorch")]
                struct Mlp { #[module(skip)] config: MlpConfig }
            },
        ] {
            let expected = quote! {
                #[automatically_derived]
                impl my_models::hubmix::HubModel for Mlp {
                    type Config = MlpConfig;
                    fn hub_info() -> &'static my_models::hubmix::ModelInfo {
                        static INFO: my_models::hubmix::ModelInfo = my_models::hubmix::ModelInfo {
                            layout: my_models::hubmix::Layout::PyTorch,
                            ..my_models::hubmix::ModelInfo::new("Mlp")
                        };
                        &INFO
                    }
                    fn hub_config(&self) -> MlpConfig {
                        ::core::clone::Clone::clone(&self.config)
                    }
                    fn hub_init(config: &MlpConfig, device: &my_models::hubmix::Device) -> Self {
                        config.init(device)
                    }
                }
                #[automatically_derived]
                impl my_models::hubmix::ModelHubMixin for Mlp {
                    my_models::hubmix::__model_hub_mixin!();
                }
            };
            assert_eq!(expand(input), expected.to_string());
        }
    }

    #[test]
    fn generics_and_where_clause() {
        let input = parse_quote! {
            #[hub(config = StackConfig<N>)]
            struct Stack<M: Module, const N: usize> where M: Clone {
                blocks: Vec<M>,
                #[module(skip)]
                settings: StackConfig<N>,
            }
        };
        let expected = quote! {
            #[automatically_derived]
            impl<M: Module, const N: usize> ::hubmix::HubModel for Stack<M, N>
            where
                M: Clone,
                Stack<M, N>: burn::module::Module
            {
                type Config = StackConfig<N>;
                fn hub_info() -> &'static ::hubmix::ModelInfo {
                    static INFO: ::hubmix::ModelInfo = ::hubmix::ModelInfo::new("Stack");
                    &INFO
                }
                fn hub_config(&self) -> StackConfig<N> {
                    ::core::clone::Clone::clone(&self.settings)
                }
                fn hub_init(config: &StackConfig<N>, device: &::hubmix::Device) -> Self {
                    config.init(device)
                }
            }
            #[automatically_derived]
            impl<M: Module, const N: usize> ::hubmix::ModelHubMixin for Stack<M, N>
            where
                M: Clone,
                Stack<M, N>: burn::module::Module
            {
                ::hubmix::__model_hub_mixin!();
            }
        };
        assert_eq!(expand(input), expected.to_string());
    }

    #[test]
    fn config_field_by_name_by_type_and_by_index() {
        let by_name = parse_quote! {
            #[hub(config = MlpConfig, config_field = cfg)]
            struct Mlp { #[module(skip)] cfg: MlpConfig, #[module(skip)] other: MlpConfig }
        };
        assert!(expand(by_name).contains(&quote!(&self.cfg).to_string()));
        let by_type = parse_quote! {
            #[hub(config = crate::MlpConfig)]
            struct Mlp { fc: Linear, #[module(skip)] settings: models::MlpConfig }
        };
        assert!(expand(by_type).contains(&quote!(&self.settings).to_string()));
        let as_string = parse_quote! {
            #[hub(config = MlpConfig, config_field = "cfg")]
            struct Mlp { #[module(skip)] cfg: MlpConfig }
        };
        assert!(expand(as_string).contains(&quote!(&self.cfg).to_string()));
        let by_index = parse_quote! {
            #[hub(config = MlpConfig, config_field = 1)]
            struct Mlp(Linear, #[module(skip)] MlpConfig);
        };
        assert!(expand(by_index).contains(&quote!(&self.1).to_string()));
    }

    #[test]
    fn raw_identifiers_are_named_without_prefix() {
        let input = parse_quote! {
            #[hub(config = MlpConfig)]
            struct r#Mlp { #[module(skip)] config: MlpConfig }
        };
        assert!(expand(input).contains(&quote!(::hubmix::ModelInfo::new("Mlp")).to_string()));
    }

    #[test]
    fn all_errors_at_once_with_a_stub_impl() {
        let input = parse_quote! {
            #[hub(config = MlpConfig, licence = "mit", tags = "x", layout = "torch")]
            #[hub(license = 3, repo_url = "github.com/alice/mlp", config = Other)]
            struct Mlp { fc1: Linear, config: MlpConfig }
        };
        let output = super::derive(&input).to_string();
        assert!(output.contains("impl :: hubmix :: HubModel for Mlp"), "{output}");
        assert!(
            output.contains(
                "impl :: hubmix :: ModelHubMixin for Mlp { :: hubmix :: __model_hub_mixin ! () ; }"
            ),
            "{output}"
        );
        assert!(output.contains("type Config = MlpConfig ;"), "{output}");
        let errors = errors(input);
        let expected = [
            "unknown hub attribute `licence`; did you mean `license`?",
            "`tags` takes a parenthesized list of strings: write `tags(\\",
            "unknown layout `torch`",
            "expected a string: write `license = \\",
            "`repo_url` must be an http(s) URL: write `repo_url = \\",
            "duplicate `config`: it is already set earlier; keep one",
            "the config field `config` needs `#[module(skip)]`",
        ];
        assert_errors_start_with(&errors, &expected);
    }

    #[test]
    fn without_config_the_first_error_is_the_config_type() {
        let input = parse_quote! {
            #[hub(tags("mlp"), license = "")]
            struct Mlp { fc1: Linear }
        };
        let output = super::derive(&input).to_string();
        assert!(
            output.contains("type Config = [() ; :: core :: compile_error !"),
            "{output}"
        );
        let errors = errors(input);
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors[0].starts_with("empty `license`"), "{errors:#?}");
        assert!(
            errors[1].starts_with("missing `#[hub(config = ...)]`"),
            "{errors:#?}"
        );
    }
}
