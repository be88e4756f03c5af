#include "model/blocks/mlp.h"

#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include "core/error.h"

namespace funnel::model {
namespace {

TEST(MlpTest, LayersMatchNaiveReference) {
  torch::manual_seed(0);
  Mlp mlp(MlpOptions(6).hidden({5, 4, 3}));
  const torch::Tensor x = torch::randn({7, 6});
  const std::vector<torch::Tensor> hs = mlp->forward_layers(x);
  ASSERT_EQ(hs.size(), 3u);
  ASSERT_EQ(mlp->num_layers(), 3u);
  EXPECT_EQ(mlp->output_dim(), 3);
  torch::NoGradGuard no_grad;
  torch::Tensor h = x;
  const int64_t widths[] = {5, 4, 3};
  for (size_t l = 0; l < 3; ++l) {
    // h^l = relu(h^{l-1} W^T + b), written out element by element.
    const torch::Tensor w = mlp->linear(l)->weight, b = mlp->linear(l)->bias;
    torch::Tensor ref = torch::zeros({7, widths[l]});
    for (int64_t i = 0; i < 7; ++i) {
      for (int64_t j = 0; j < widths[l]; ++j) {
        double s = b[j].item<double>();
        for (int64_t k = 0; k < h.size(1); ++k)
          s += w[j][k].item<double>() * h[i][k].item<double>();
        ref[i][j] = s > 0 ? s : 0.0;
      }
    }
    EXPECT_TRUE(torch::allclose(hs[l], ref, 1e-5, 1e-6)) << "layer " << l;
    EXPECT_TRUE(torch::equal(mlp->layer(l, h), hs[l]));
    h = hs[l];
  }
  EXPECT_TRUE(torch::equal(mlp->forward(x), hs.back()));
}

TEST(MlpTest, DefaultsAreAutoHeriTowers) {
  const MlpOptions o(10);
  EXPECT_EQ(o.hidden(), (std::vector<int64_t>{200, 80, 20}));
  EXPECT_EQ(o.dropout(), 0.0);
  EXPECT_EQ(o.activation(), Activation::kRelu);
  Mlp mlp(o);
  EXPECT_EQ(mlp->parameters().size(), 6u);
  EXPECT_EQ(mlp->named_parameters().contains("linear2.bias"), true);
}

TEST(MlpTest, NoHiddenLayersIsIdentity) {
  Mlp mlp(MlpOptions(4).hidden({}));
  const torch::Tensor x = torch::randn({3, 4});
  EXPECT_TRUE(torch::equal(mlp->forward(x), x));
  EXPECT_EQ(mlp->output_dim(), 4);
  EXPECT_TRUE(mlp->forward_layers(x).empty());
}

TEST(MlpTest, ActivationsAndParsing) {
  EXPECT_EQ(parse_activation("relu"), Activation::kRelu);
  EXPECT_EQ(parse_activation("leaky_relu"), Activation::kLeakyRelu);
  EXPECT_EQ(parse_activation("tanh"), Activation::kTanh);
  EXPECT_THROW(parse_activation("gelu"), Error);
  const torch::Tensor x = torch::tensor({-2.0f, 3.0f});
  EXPECT_TRUE(torch::allclose(activate(Activation::kLeakyRelu, x), torch::tensor({-0.02f, 3.0f})));
  EXPECT_TRUE(torch::allclose(activate(Activation::kTanh, x), torch::tanh(x)));
  for (Activation a : {Activation::kRelu, Activation::kLeakyRelu, Activation::kTanh}) {
    EXPECT_EQ(parse_activation(activation_name(a)), a);
  }
}

TEST(MlpTest, DropoutOnlyInTrainingMode) {
  torch::manual_seed(1);
  Mlp mlp(MlpOptions(8).hidden({64}).dropout(0.5));
  const torch::Tensor x = torch::randn({16, 8});
  mlp->eval();
  EXPECT_TRUE(torch::equal(mlp->forward(x), mlp->forward(x)));
  mlp->train();
  const torch::Tensor a = mlp->forward(x), b = mlp->forward(x);
  EXPECT_FALSE(torch::equal(a, b));
  // Roughly half of the positive activations are zeroed.
  mlp->eval();
  const double live = (mlp->forward(x) > 0).sum().item<double>();
  const double kept = (a > 0).sum().item<double>();
  EXPECT_GT(kept, 0.3 * live);
  EXPECT_LT(kept, 0.7 * live);
}

TEST(MlpTest, RejectsBadOptions) {
  EXPECT_THROW(Mlp(MlpOptions(0)), Error);
  EXPECT_THROW(Mlp(MlpOptions(3).hidden({4, 0})), Error);
  EXPECT_THROW(Mlp(MlpOptions(3).dropout(1.0)), Error);
}

TEST(TowerTest, GivesOneLogitPerRow) {
  torch::manual_seed(2);
  Tower tower(MlpOptions(5).hidden({6, 3}));
  const torch::Tensor x = torch::randn({4, 5});
  const torch::Tensor z = tower->forward(x);
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{4}));
  const torch::Tensor ref = torch::nn::functional::linear(
      tower->mlp()->forward(x), tower->head_linear()->weight, tower->head_linear()->bias);
  EXPECT_TRUE(torch::allclose(z, ref.squeeze(1)));
}


// uniform_linear against the full product: rows that share columns {1, 3, 4} give the same
// layer output with those columns' part computed once.
TEST(MlpTest, UniformLinearEqualsTheFullProductWhenTheColumnsAreShared) {
  torch::manual_seed(3);
  torch::nn::Linear linear(6, 5);
  torch::Tensor x = torch::randn({7, 6});
  const std::vector<int64_t> shared = {4, 1, 3};
  for (int64_t c : shared) x.select(1, c).fill_(x[0][c].item<float>());
  const UniformColumns u = uniform_columns(shared, 6, x.device());
  EXPECT_TRUE(torch::equal(u.shared, torch::tensor({1, 3, 4}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(u.varying, torch::tensor({0, 2, 5}, torch::kInt64)));
  torch::NoGradGuard no_grad;
  const torch::Tensor full = linear(x);
  EXPECT_TRUE(torch::allclose(uniform_linear(linear, x, u), full, 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(uniform_linear(linear, x, UniformColumns{}), full));
  // One row: the plain product.
  EXPECT_TRUE(torch::equal(uniform_linear(linear, x.narrow(0, 0, 1), u), full.narrow(0, 0, 1)));
  // Every column shared: every row is row 0's.
  torch::Tensor same = x[0].unsqueeze(0).repeat({4, 1});
  const UniformColumns all = uniform_columns({0, 1, 2, 3, 4, 5}, 6, x.device());
  EXPECT_EQ(all.varying.numel(), 0);
  EXPECT_TRUE(torch::allclose(uniform_linear(linear, same, all), linear(same), 1e-5, 1e-6));
  // The contract matters: a "shared" column that varies gives row 0's part to every row.
  torch::Tensor broken = x.clone();
  broken[5][3] = broken[5][3] + 1.0;
  EXPECT_FALSE(torch::allclose(uniform_linear(linear, broken, u), linear(broken), 1e-3, 1e-3));
  EXPECT_FALSE(uniform_columns({}, 6, x.device()).defined());
  EXPECT_THROW(uniform_columns({6}, 6, x.device()), Error);
  EXPECT_THROW(uniform_columns({2, 2}, 6, x.device()), Error);
  // The Mlp and the Tower with it: the same as without.
  Tower tower(MlpOptions(6).hidden({4, 3}));
  EXPECT_TRUE(torch::allclose(tower->forward_uniform(x, u), tower(x), 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(tower->mlp()->forward_uniform(x, UniformColumns{}), tower->mlp()(x)));
}

}  // namespace
}  // namespace funnel::model
