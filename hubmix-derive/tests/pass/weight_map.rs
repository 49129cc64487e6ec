// The weight-map keys and config_keys: `hub_info` carries a `WeightMap` built with the rules in
// their fixed order (whatever the attribute order), and the renamed config keys; or the map of a
// function given with `weight_map`.
use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use hubmix::checkpoint::WeightMap;
use hubmix::{Device, HubModel};

#[derive(Config, Debug)]
pub struct BertConfig {
    pub d_model: usize,
    pub n_layers: usize,
}

impl BertConfig {
    pub fn init(&self, device: &Device) -> Bert {
        Bert {
            fc: LinearConfig::new(self.d_model, self.d_model).init(device),
            config: self.clone(),
        }
    }
}

#[derive(Module, Debug, HubModel)]
#[hub(config = BertConfig, layout = "pytorch",
      ignore(r"^cls\.", r"position_ids$"), allow(r"^bert\."),
      add_prefix = "backbone.",
      rename(r"^encoder\.layer\.(\d+)\." => "encoder.layers.$1.", r"\.LayerNorm\." => ".layer_norm."),
      strip_prefix = "model.",
      base_model_prefix = "bert",
      config_keys("hidden_size" => "d_model", "num_hidden_layers" => "n_layers"))]
pub struct Bert {
    fc: Linear,
    #[module(skip)]
    config: BertConfig,
}

#[derive(Config, Debug)]
pub struct Gpt2Config {
    pub d_model: usize,
}

impl Gpt2Config {
    pub fn init(&self, device: &Device) -> Gpt2 {
        Gpt2 {
            fc: LinearConfig::new(self.d_model, self.d_model).init(device),
            config: self.clone(),
        }
    }
}

fn gpt2_weights() -> WeightMap {
    WeightMap::new()
        .strip_prefix("transformer.")
        .burn_layout(r"\.c_attn\.weight$")
}

#[derive(Module, Debug, HubModel)]
#[hub(config = Gpt2Config, weight_map = gpt2_weights, config_keys("n_embd" => "d_model"))]
pub struct Gpt2 {
    fc: Linear,
    #[module(skip)]
    config: Gpt2Config,
}

fn main() {
    let info = Bert::hub_info();
    assert_eq!(
        info.config_keys,
        [("hidden_size", "d_model"), ("num_hidden_layers", "n_layers")]
    );
    let map = (info.weight_map.expect("a weight map"))();
    let expected = WeightMap::new()
        .base_model_prefix("bert")
        .strip_prefix("model.")
        .rename(r"^encoder\.layer\.(\d+)\.", "encoder.layers.$1.")
        .rename(r"\.LayerNorm\.", ".layer_norm.")
        .add_prefix("backbone.")
        .allow(r"^bert\.")
        .ignore(r"^cls\.")
        .ignore("position_ids$");
    assert_eq!(format!("{map:?}"), format!("{expected:?}"));

    let info = Gpt2::hub_info();
    assert_eq!(info.config_keys, [("n_embd", "d_model")]);
    let map = (info.weight_map.expect("a weight map"))();
    assert_eq!(format!("{map:?}"), format!("{:?}", gpt2_weights()));

    // Without the keys: no map, no renamed keys.
    #[derive(Module, Debug, HubModel)]
    #[hub(config = Gpt2Config, init_fn = plain)]
    pub struct Plain {
        fc: Linear,
        #[module(skip)]
        config: Gpt2Config,
    }
    fn plain(config: &Gpt2Config, device: &Device) -> Plain {
        Plain { fc: LinearConfig::new(config.d_model, 1).init(device), config: config.clone() }
    }
    assert!(Plain::hub_info().weight_map.is_none());
    assert!(Plain::hub_info().config_keys.is_empty());
}
