use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
}

// The model card's attributes: a template that is not there, a list written as a string, an
// empty metric, a misspelt key; all reported in one build.
#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, card_template = "templates/missing.md", datasets = "alice/rows")]
#[hub(metrics("accuracy", ""), card_templat = "x.md")]
pub struct Mlp {
    fc: Linear,
    #[module(skip)]
    config: MlpConfig,
}

fn main() {}
