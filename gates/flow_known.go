package gates

import (
	"regexp"
	"strings"
	"sync"
)

// What the leakage analysis knows about libraries, by class or function
// name (the last part of the dotted name, so that every import style
// matches).

func nameSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// preprocessors learn statistics across rows when fitted.
var preprocessors = nameSet(
	// scaling and transforms
	"StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "QuantileTransformer", "PowerTransformer",
	"KBinsDiscretizer", "SplineTransformer",
	// imputation
	"SimpleImputer", "KNNImputer", "IterativeImputer", "MissingIndicator",
	// encoders, target encoders included
	"OneHotEncoder", "OrdinalEncoder", "TargetEncoder", "CountEncoder", "WOEEncoder", "CatBoostEncoder",
	"LeaveOneOutEncoder", "JamesSteinEncoder", "MEstimateEncoder", "GLMMEncoder", "BinaryEncoder", "BaseNEncoder",
	"HelmertEncoder", "SumEncoder", "PolynomialEncoder", "BackwardDifferenceEncoder", "QuantileEncoder",
	"SummaryEncoder", "OrdinalEncoder_",
	// decomposition and embeddings
	"PCA", "IncrementalPCA", "KernelPCA", "SparsePCA", "MiniBatchSparsePCA", "TruncatedSVD", "FastICA", "NMF",
	"FactorAnalysis", "LatentDirichletAllocation", "UMAP", "Isomap", "LocallyLinearEmbedding", "TSNE",
	"LinearDiscriminantAnalysis_", "GaussianRandomProjection_",
	// feature selection
	"SelectKBest", "SelectPercentile", "VarianceThreshold", "RFE", "RFECV", "SelectFromModel",
	"SequentialFeatureSelector", "GenericUnivariateSelect", "SelectFpr", "SelectFdr", "SelectFwe", "Boruta",
	"BorutaPy",
	// text
	"CountVectorizer", "TfidfVectorizer", "TfidfTransformer", "DictVectorizer", "Tokenizer", "TextVectorization",
	// keras preprocessing layers with adapt()
	"Normalization", "Discretization", "StringLookup", "IntegerLookup",
)

// statelessTransformers have a fit that learns nothing from the rows.
var statelessTransformers = nameSet("Normalizer", "Binarizer", "FunctionTransformer", "PolynomialFeatures",
	"HashingVectorizer", "FeatureHasher", "LabelEncoder", "LabelBinarizer", "MultiLabelBinarizer", "HashingEncoder")

// oversamplers create rows from other rows.
var oversamplers = nameSet("SMOTE", "ADASYN", "BorderlineSMOTE", "SVMSMOTE", "KMeansSMOTE", "SMOTENC", "SMOTEN",
	"RandomOverSampler", "SMOTETomek", "SMOTEENN")

// undersamplers only drop rows.
var undersamplers = nameSet("RandomUnderSampler", "NearMiss", "TomekLinks", "EditedNearestNeighbours",
	"RepeatedEditedNearestNeighbours", "AllKNN", "CondensedNearestNeighbour", "OneSidedSelection",
	"NeighbourhoodCleaningRule", "InstanceHardnessThreshold", "ClusterCentroids")

// augmenters make new samples from existing ones.
var augmenters = nameSet("ImageDataGenerator")

var searches = nameSet("GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV",
	"BayesSearchCV", "TuneSearchCV", "TuneGridSearchCV")

var pipelines = nameSet("Pipeline", "make_pipeline", "ColumnTransformer", "make_column_transformer", "FeatureUnion",
	"make_union", "TransformedTargetRegressor", "StackingClassifier", "StackingRegressor", "VotingClassifier",
	"VotingRegressor")

// splitters: name -> shuffles by default?, group-aware?
var splitters = map[string]struct{ shuffles, groups, shuffleParam bool }{
	"KFold":                   {false, false, true},
	"StratifiedKFold":         {false, false, true},
	"GroupKFold":              {false, true, true},
	"StratifiedGroupKFold":    {false, true, true},
	"TimeSeriesSplit":         {false, false, false},
	"ShuffleSplit":            {true, false, false},
	"StratifiedShuffleSplit":  {true, false, false},
	"GroupShuffleSplit":       {true, true, false},
	"RepeatedKFold":           {true, false, false},
	"RepeatedStratifiedKFold": {true, false, false},
	"LeaveOneOut":             {false, false, false},
	"LeavePOut":               {false, false, false},
	"LeaveOneGroupOut":        {false, true, false},
	"LeavePGroupsOut":         {false, true, false},
	"PredefinedSplit":         {false, false, false},
}

var cvFunctions = nameSet("cross_val_score", "cross_validate", "cross_val_predict", "learning_curve",
	"validation_curve", "permutation_test_score")

var metricFuncs = nameSet("confusion_matrix", "classification_report", "roc_curve", "precision_recall_curve",
	"precision_recall_fscore_support", "det_curve")

func isMetricFunc(tail string) bool {
	return metricFuncs[tail] || strings.HasSuffix(tail, "_score") || strings.HasSuffix(tail, "_error") ||
		strings.HasSuffix(tail, "_loss") || tail == "r2" || tail == "rmse" || tail == "mae" || tail == "mse"
}

// modelModules are packages whose classes are estimators.
var modelModules = []string{"sklearn", "xgboost", "lightgbm", "catboost", "imblearn", "keras", "tensorflow.keras",
	"statsmodels", "ngboost", "skorch", "pytorch_tabnet"}

var modelSuffixRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(Classifier|Regressor|Regression|Model|Net|Estimator|Booster|SVC|SVR|NB|Forest|Boost|Trees|Lasso|Ridge|ElasticNet|Perceptron|KMeans|Clustering|DBSCAN|Mixture)$`)
})

// dataSourceFuncs create data sets. Names starting with load_, fetch_,
// make_ and read_ are data sources too (see isDataSource).
var dataSourceFuncs = nameSet("loadtxt", "genfromtxt", "fromfile", "load", "DataFrame", "Series", "array", "asarray",
	"load_dataset", "read_csv", "read_parquet", "read_excel", "read_json", "read_feather", "read_table",
	"read_pickle", "read_hdf", "read_sql", "read_sql_query", "read_sql_table", "tensor", "from_tensor_slices",
	"image_dataset_from_directory", "text_dataset_from_directory", "open_dataset", "ImageFolder", "MNIST",
	"CIFAR10", "CIFAR100", "FashionMNIST")

func isDataSource(canon, tail string) bool {
	if dataSourceFuncs[tail] {
		if tail == "load" || tail == "array" || tail == "asarray" || tail == "tensor" {
			return hasPrefixModule(canon, "numpy") || hasPrefixModule(canon, "torch") || hasPrefixModule(canon, "joblib") ||
				hasPrefixModule(canon, "pickle")
		}
		return true
	}
	return strings.HasPrefix(tail, "load_") || strings.HasPrefix(tail, "fetch_") ||
		(strings.HasPrefix(tail, "make_") && hasPrefixModule(canon, "sklearn")) ||
		(strings.HasPrefix(tail, "read_") && (hasPrefixModule(canon, "pandas") || hasPrefixModule(canon, "polars")))
}

// rowStats are DataFrame/array methods that reduce across rows (axis 0).
var rowStats = nameSet("mean", "std", "var", "median", "quantile", "min", "max", "sum", "mode", "describe", "cov",
	"corr", "corrwith", "nunique", "value_counts", "agg", "aggregate", "nanmean", "nanstd", "nanmedian",
	"percentile", "nanpercentile", "nanquantile", "average", "ptp", "sem", "skew", "kurt", "mad", "idxmax",
	"idxmin", "unique", "nlargest", "nsmallest", "count", "prod")

// rowWiseStats keep one value per row but each depends on all rows.
var rowWiseStats = nameSet("rank", "zscore", "qcut", "cut", "cumsum_", "expanding_", "pct_rank")

// timeMethods show that rows are ordered in time.
var timeMethods = nameSet("shift", "rolling", "expanding", "diff", "pct_change", "resample", "ewm", "asfreq", "tshift",
	"interpolate_time", "lag")

var timeColRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)^(date|time|timestamp|datetime|ts|dt|day|days|week|month|hour|minute|period|epoch_time|event_time|created_at|updated_at|obs_date|visit_date|order_date|trade_date)$|(_date|_time|_ts|_at|date_|time_)`)
})

var lagColRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(^|_)(lag|lags|lead|rolling|roll|ewm|ma|shifted)(_|\d|$)`)
})

// entityColRe matches the names of columns that identify an entity whose
// rows must not be split across train and test. Strong words match alone;
// weak ones only with an id suffix.
var entityColRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)^((patient|subject|user|customer|client|participant|person|individual|donor|speaker|mouse|animal|household|family|student|driver|player|volunteer|case|visitor|author|writer|doctor|hospital|site|group|session|device|account|image|specimen|study|clinic|center|centre|store|shop|item|product|well|plate|slide|recording|video|farm|herd|tree|plot)[_ -]?(id|ids|no|num|number|code|key|name|idx|index)|(patient|subject|user|customer|client|participant|person|individual|donor|speaker|household|family|student|volunteer|mouse|animal)s?|pid|uid|sid|gid|mrn|patientid|subjectid|userid|customerid|groupid)$`)
})

// nameRole reads a data role from a variable or path name: X_test, Xte,
// test_df, y_val, data/train.csv.
func nameRole(name string) role {
	words := roleWords(name)
	for _, w := range words {
		switch w {
		case "val", "valid", "validation", "dev", "vl", "eval", "es", "early":
			return roleVal
		}
	}
	for _, w := range words {
		switch w {
		case "test", "tst", "te", "holdout", "heldout", "unseen", "oos", "testing":
			return roleTest
		}
	}
	for _, w := range words {
		switch w {
		case "train", "tr", "trn", "training", "fit":
			return roleTrain
		}
	}
	return roleNone
}

var rolePrefixes = []string{"x", "y", "df", "data", "ds", "features", "feats", "labels", "target", "targets", "idx", "ix"}

// roleWords splits a name into lower-case words at non-letters, and also
// offers each word without a leading x/y/df/... ("xte" -> "te").
func roleWords(name string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r < 'a' || r > 'z' }) {
		out = append(out, w)
		for _, p := range rolePrefixes {
			if len(w) > len(p) && strings.HasPrefix(w, p) {
				out = append(out, w[len(p):])
			}
		}
	}
	return out
}

// nameCache remembers regexp answers for column and attribute names, which
// repeat across a program. Safe for concurrent use.
type nameCache struct {
	re func() *regexp.Regexp
	m  sync.Map // string -> bool
}

func (c *nameCache) match(s string) bool {
	if v, ok := c.m.Load(s); ok {
		return v.(bool)
	}
	ok := c.re().MatchString(s)
	c.m.Store(s, ok)
	return ok
}

var (
	isEntityCol = &nameCache{re: entityColRe}
	isTimeCol   = &nameCache{re: timeColRe}
	isLagCol    = &nameCache{re: lagColRe}
)
