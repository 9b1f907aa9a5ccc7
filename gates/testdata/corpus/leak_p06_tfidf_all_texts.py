# label: LEAK kind=preprocessing
# The vocabulary and idf weights come from the test documents too.
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import MultinomialNB
from sklearn.metrics import f1_score

reviews = pd.read_csv("reviews.csv")
vec = TfidfVectorizer(min_df=2, ngram_range=(1, 2))
matrix = vec.fit_transform(reviews["text"])
labels = reviews["sentiment"]

m_train, m_test, l_train, l_test = train_test_split(matrix, labels, test_size=0.3, random_state=11)
nb = MultinomialNB().fit(m_train, l_train)
print(f1_score(l_test, nb.predict(m_test), average="macro"))
