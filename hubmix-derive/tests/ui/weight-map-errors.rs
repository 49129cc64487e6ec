use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct BertConfig {
    pub d_model: usize,
}

// The weight map's and config_keys' mistakes, all reported in one build: a regex that does not
// compile, replacements naming groups their pattern lacks (`$1a` is the group named `1a`, as in
// the regex crate), empty and dotted prefixes, and config keys renamed twice, onto the same
// field, or onto themselves.
#[derive(Module, Debug, HubModel)]
#[hub(config = BertConfig, base_model_prefix = "bert.", strip_prefix = "", add_prefix = "")]
#[hub(rename(r"^encoder\.layer\.(\d+)\." => "encoder.layers.$2.", "(?P<ln>LayerNorm)" => "${norm}", "^(a)" => "$1b"))]
#[hub(allow(r"^bert\.(", ""), ignore(r"position_ids$"))]
#[hub(config_keys("hidden_size" => "d_model", "hidden_size" => "width", "n_embd" => "d_model", "vocab_size" => "vocab_size"))]
pub struct Bert {
    fc: Linear,
    #[module(skip)]
    config: BertConfig,
}

// `base_model_prefix` is one name: not empty, not a path.
#[derive(Module, Debug, HubModel)]
#[hub(config = BertConfig, base_model_prefix = "")]
pub struct Empty {
    fc: Linear,
    #[module(skip)]
    config: BertConfig,
}

#[derive(Module, Debug, HubModel)]
#[hub(config = BertConfig, base_model_prefix = "model.encoder")]
pub struct Deep {
    fc: Linear,
    #[module(skip)]
    config: BertConfig,
}

fn main() {}
