use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct BertConfig {
    pub d_model: usize,
}

// Values of the wrong shape: a pair list given as one string, a pair without `=>`, a pair with a
// number, a prefix that is not a string, a weight map that is not a path, and a key given twice.
#[derive(Module, Debug, HubModel)]
#[hub(config = BertConfig, rename = "a", config_keys("hidden_size" "d_model", "layers" => 12))]
#[hub(strip_prefix = model, allow("x"), allow("y"))]
pub struct Bert {
    fc: Linear,
    #[module(skip)]
    config: BertConfig,
}

#[derive(Module, Debug, HubModel)]
#[hub(config = BertConfig, weight_map = "not a path")]
pub struct Gpt2 {
    fc: Linear,
    #[module(skip)]
    config: BertConfig,
}

fn main() {}
