use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::checkpoint::WeightMap;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct Gpt2Config {
    pub d_model: usize,
}

fn gpt2_weights() -> WeightMap {
    WeightMap::new().burn_layout(r"\.c_attn\.weight$")
}

// `weight_map = path` gives the whole map: the rule keys beside it are refused, each where it
// is written (`config_keys` is about the config, and fine).
#[derive(Module, Debug, HubModel)]
#[hub(config = Gpt2Config, weight_map = gpt2_weights, config_keys("n_embd" => "d_model"))]
#[hub(strip_prefix = "transformer.", ignore(r"\.attn\.bias$"))]
pub struct Gpt2 {
    fc: Linear,
    #[module(skip)]
    config: Gpt2Config,
}

fn main() {}
