use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
}

#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, repo_url = "github.com/alice/mlp", paper_url = "ftp://arxiv.org/1", docs_url = "https://")]
pub struct Mlp {
    fc: Linear,
    #[module(skip)]
    config: MlpConfig,
}

fn main() {}
